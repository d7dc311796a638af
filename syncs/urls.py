from django.urls import path

from syncs import webhooks

urlpatterns = [
    path("webhooks/<slug:system>/", webhooks.webhook, name="webhook"),
]
