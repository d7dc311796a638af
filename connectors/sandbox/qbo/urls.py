"""The QBO fake, mounted at /sandbox/qbo/. Paths mirror Intuit's hosts:

- appcenter.intuit.com/connect/oauth2           -> connect/oauth2
- oauth.platform.intuit.com/oauth2/v1/tokens/*  -> oauth2/v1/tokens/bearer, .../revoke
- quickbooks.api.intuit.com/v3/company/<realm>/ -> v3/company/<realm>/
"""

from django.urls import path

from connectors.sandbox.qbo import oauth_views, views

app_name = "sandbox_qbo"

company = "v3/company/<str:realm_id>/"

urlpatterns = [
    path("connect/oauth2", oauth_views.authorize_view, name="authorize"),
    path("oauth2/v1/tokens/bearer", oauth_views.token_view, name="token"),
    path("oauth2/v1/tokens/revoke", oauth_views.revoke_view, name="revoke"),
    path(company + "query", views.query_view, name="query"),
    path(company + "batch", views.batch_view, name="batch"),
    path(company + "cdc", views.cdc_view, name="cdc"),
    path(company + "companyinfo/<str:info_id>", views.company_info_view, name="companyinfo"),
    path(company + "<str:segment>", views.entity_write_view, name="entity"),
    path(company + "<str:segment>/<str:record_id>", views.entity_read_view, name="entity-read"),
]
