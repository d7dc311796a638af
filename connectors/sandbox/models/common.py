"""State shared by every fake: fault settings, the request log, throttle counters, deliveries."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Vendor(models.TextChoices):
    QBO = "qbo", "QuickBooks Online"
    ZOHO_ACCOUNTS = "zoho_accounts", "Zoho Accounts (OAuth)"
    ZOHO_CRM = "zoho_crm", "Zoho CRM"
    ZOHO_BOOKS = "zoho_books", "Zoho Books"


class FaultProfile(models.Model):
    """How badly one fake behaves. Blank limits mean the vendor's documented default."""

    vendor = models.CharField(max_length=20, choices=Vendor.choices, unique=True)
    latency_ms = models.PositiveIntegerField(default=0, help_text="Added to every answer.")
    error_rate = models.FloatField(
        default=0.0, help_text="Share of answers that are a 5xx, 0 to 1."
    )
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    daily_credit_limit = models.PositiveIntegerField(null=True, blank=True)
    token_lifetime_seconds = models.PositiveIntegerField(default=3600)
    webhooks_enabled = models.BooleanField(default=True)

    class Meta:
        permissions = [("use_console", "Can use the sandbox console")]

    def __str__(self) -> str:
        return f"Faults for {self.get_vendor_display()}"

    @classmethod
    def for_vendor(cls, vendor: str) -> FaultProfile:
        profile, _ = cls.objects.get_or_create(vendor=vendor)
        return profile


class RequestLog(models.Model):
    """One request a fake answered: the newcomer's window onto the other side."""

    vendor = models.CharField(max_length=20, choices=Vendor.choices, db_index=True)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    endpoint = models.CharField(max_length=200, help_text="The path with ids replaced, for counts.")
    query = models.TextField(blank=True)
    status = models.PositiveSmallIntegerField()
    duration_ms = models.PositiveIntegerField()
    request_body = models.TextField(blank=True)
    response_body = models.TextField(blank=True)
    note = models.CharField(
        max_length=300, blank=True, help_text="What the fake flagged, if anything."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.status}"


class RateWindow(models.Model):
    """A request counter for one key in one fixed time window (per-minute, per-day limits)."""

    key = models.CharField(max_length=200)
    window_start = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "window_start"], name="unique_rate_window")
        ]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.count}"


class InFlight(models.Model):
    """One request being answered right now under a concurrency limit. Rows expire, so a process
    that dies mid-request never holds its slot for good."""

    key = models.CharField(max_length=200, db_index=True)
    expires_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.key} until {self.expires_at}"


class OutboundDelivery(models.Model):
    """A webhook or notification a fake sends out, retried with backoff until it lands."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Gave up"

    vendor = models.CharField(max_length=20, choices=Vendor.choices)
    url = models.URLField(max_length=500)
    headers = models.JSONField(default=dict)
    body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.vendor} delivery to {self.url} ({self.status})"
