from django.urls import path

from connectors import views

app_name = "connectors"

urlpatterns = [
    path("connections/<int:pk>/authorize/", views.authorize, name="authorize"),
    path(
        "connections/<int:pk>/organization/", views.choose_organization, name="choose_organization"
    ),
    path("oauth/callback/", views.oauth_callback_view, name="oauth_callback"),
]
