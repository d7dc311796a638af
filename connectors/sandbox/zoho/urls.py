"""The Zoho fakes, under Zoho's own paths: `accounts/` is the accounts server, and this root
is the `api_domain` (`crm/v8/...`, `books/v3/...`), so a client is pointed at the sandbox by its
base URLs alone."""

from django.urls import path, re_path

from connectors.sandbox.zoho import accounts_views, books_views, crm_related, crm_views

crm = "crm/v8"
books = "books/v3"

urlpatterns = [
    path("accounts/oauth/v2/auth", accounts_views.authorize, name="zoho_oauth_authorize"),
    path("accounts/oauth/v2/token", accounts_views.token, name="zoho_oauth_token"),
    path("accounts/oauth/v2/token/revoke", accounts_views.revoke, name="zoho_oauth_revoke"),
    path(f"{crm}/org", crm_views.org_view),
    path(f"{crm}/users", crm_views.users_view),
    path(f"{crm}/settings/modules", crm_views.modules_view),
    path(f"{crm}/settings/fields", crm_views.fields_view),
    path(f"{crm}/actions/watch", crm_views.watch_view),
    path(f"{crm}/<str:module>", crm_views.records_view),
    path(f"{crm}/<str:module>/upsert", crm_views.upsert_view),
    path(f"{crm}/<str:module>/search", crm_views.search_view),
    path(f"{crm}/<str:module>/deleted", crm_views.deleted_view),
    path(f"{crm}/<str:module>/<str:record_id>", crm_views.record_view),
    path(f"{crm}/<str:module>/<str:record_id>/<str:related_list>", crm_related.related_view),
    path(
        f"{crm}/<str:module>/<str:record_id>/<str:related_list>/<str:related_id>",
        crm_related.relation_view,
    ),
    re_path(r"^crm/v8/(?P<rest>.*)$", crm_views.unknown_url),
    path(f"{books}/organizations", books_views.organizations_view),
    path(f"{books}/contacts", books_views.contacts_view),
    path(f"{books}/contacts/<int:contact_id>", books_views.contact_view),
    path(f"{books}/contacts/<int:contact_id>/<str:state>", books_views.contact_status_view),
    path(f"{books}/items", books_views.items_view),
    path(f"{books}/items/<int:item_id>", books_views.item_view),
    path(f"{books}/items/<int:item_id>/<str:state>", books_views.item_status_view),
    path(f"{books}/invoices", books_views.invoices_view),
    path(f"{books}/invoices/<int:invoice_id>", books_views.invoice_view),
    path(f"{books}/customerpayments", books_views.payments_view),
    path(f"{books}/customerpayments/<int:payment_id>", books_views.payment_view),
    path(f"{books}/settings/webhooks", books_views.webhooks_view),
    path(f"{books}/settings/webhooks/<int:webhook_id>", books_views.webhook_view),
]
