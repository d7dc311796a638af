from django.urls import path

from syncs import webhooks

urlpatterns = [
    path("webhooks/<slug:system>/", webhooks.webhook, name="webhook"),
    # A system whose webhooks name their connection in the path (Zoho Books').
    path(
        "webhooks/<slug:system>/<int:connection>/",
        webhooks.webhook,
        name="webhook-connection",
    ),
]
