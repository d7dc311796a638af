from django.urls import include, path

app_name = "sandbox"

urlpatterns = [
    path("qbo/", include("connectors.sandbox.qbo.urls")),
    path("zoho/", include("connectors.sandbox.zoho.urls")),
    path("qbd/", include("connectors.sandbox.qbd.urls")),
    path("", include("connectors.sandbox.console.urls")),
]
