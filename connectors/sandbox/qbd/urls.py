"""The QuickBooks Desktop fake's console, mounted at /sandbox/qbd/. The Web Connector itself
needs no URL here: it calls the product's /qbwc/, as the real one does."""

from django.urls import path

from connectors.sandbox.qbd import views

app_name = "sandbox_qbd"

urlpatterns = [
    path("", views.console, name="console"),
    path("apps/<int:pk>/run/", views.app_run, name="app-run"),
]
