from django.urls import path

from connectors import views, webhook_views

app_name = "connectors"

urlpatterns = [
    path("connections/<int:pk>/authorize/", views.authorize, name="authorize"),
    path(
        "connections/<int:pk>/organization/", views.choose_organization, name="choose_organization"
    ),
    path("oauth/callback/", views.oauth_callback_view, name="oauth_callback"),
    path("webhooks/qbo/", webhook_views.qbo_webhook, name="qbo_webhook"),
    path("webhooks/zoho-crm/", webhook_views.zoho_crm_notification, name="zoho_crm_notification"),
]
