from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.utils import timezone
from django_cryptography.fields import encrypt


class Connection(models.Model):
    """One authorised account at an external system, with its credentials (encrypted)."""

    class System(models.TextChoices):
        QBO = "qbo", "QuickBooks Online"
        QBD = "qbd", "QuickBooks Desktop"
        ZOHO_CRM = "zoho_crm", "Zoho CRM"
        ZOHO_BOOKS = "zoho_books", "Zoho Books"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CONNECTED = "connected", "Connected"
        NEEDS_REAUTH = "needs_reauth", "Needs reconnecting"
        DISABLED = "disabled", "Disabled"

    class Environment(models.TextChoices):
        PRODUCTION = "production", "Production"
        SANDBOX = "sandbox", "Sandbox"

    class DataCentre(models.TextChoices):
        US = "us", "United States (.com)"
        EU = "eu", "Europe (.eu)"
        IN = "in", "India (.in)"
        AU = "au", "Australia (.com.au)"
        JP = "jp", "Japan (.jp)"
        CA = "ca", "Canada (zohocloud.ca)"
        CN = "cn", "China (.com.cn)"
        SA = "sa", "Saudi Arabia (.sa)"

    system = models.CharField(max_length=20, choices=System.choices)
    name = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    environment = models.CharField(
        max_length=20,
        choices=Environment.choices,
        default=Environment.PRODUCTION,
        help_text="QuickBooks Online: production or Intuit's developer sandbox.",
    )
    data_centre = models.CharField(
        max_length=4,
        choices=DataCentre.choices,
        default=DataCentre.US,
        help_text="Zoho: the data centre of the Zoho account.",
    )

    client_id = models.CharField(max_length=255, blank=True)
    client_secret = encrypt(models.CharField(max_length=255, blank=True, default=""))
    access_token = encrypt(models.TextField(blank=True, default=""))
    refresh_token = encrypt(models.TextField(blank=True, default=""))
    webhook_secret = encrypt(
        models.CharField(
            max_length=255,
            blank=True,
            default="",
            help_text="QBO webhook verifier token, or the Zoho Books webhook HMAC secret.",
        )
    )
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_hard_expires_at = models.DateTimeField(null=True, blank=True)
    token_refreshed_at = models.JSONField(
        default=list,
        blank=True,
        help_text="When access tokens were minted recently (Zoho allows 10 per 10 minutes).",
    )
    token_refresh_blocked_until = models.DateTimeField(null=True, blank=True)
    token_refresh_claimed_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="A worker is refreshing the access token; the others wait for its result.",
    )

    realm_id = models.CharField("QBO realm id", max_length=64, blank=True, db_index=True)
    organization_id = models.CharField("Zoho organization id", max_length=64, blank=True)
    api_domain = models.URLField("Zoho API domain", blank=True)
    accounts_server = models.URLField("Zoho accounts server", blank=True)
    api_base_url = models.URLField(
        "API base URL override",
        blank=True,
        help_text=(
            "Leave blank for the vendor's own. Only the sandbox (with SANDBOX_ENABLED) or a host "
            "in CONNECTION_URL_ALLOWED_HOSTS is accepted."
        ),
    )
    oauth_base_url = models.URLField(
        "OAuth base URL override",
        blank=True,
        help_text="Leave blank for the vendor's own authorisation and token servers.",
    )

    throttled_until = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The vendor rate-limited this connection: every worker's calls wait until then.",
    )
    last_ok_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    api_call_count = models.BigIntegerField(default=0)
    daily_call_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=(
            "The vendor plan's API calls a day, counted by every worker together (Zoho Books: "
            "1000, 2000, 5000 or 10000). Reached, calls wait for the next day (UTC)."
        ),
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["system", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["system", "realm_id"],
                condition=~models.Q(realm_id=""),
                name="unique_realm_per_system",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_system_display()})"

    def access_token_is_fresh(self, margin: timedelta = timedelta(minutes=5)) -> bool:
        return bool(
            self.access_token
            and self.access_token_expires_at
            and self.access_token_expires_at > timezone.now() + margin
        )


class OAuthState(models.Model):
    """A single-use nonce behind each signed OAuth `state` we hand to a vendor."""

    nonce = models.CharField(max_length=64, unique=True)
    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"OAuth state for {self.connection_id}"


class WebhookChannel(models.Model):
    """A subscription a vendor delivers changes through: a Zoho CRM notification channel (which
    expires and must be renewed) or a Zoho Books webhook registration."""

    class Kind(models.TextChoices):
        ZOHO_CRM_NOTIFICATIONS = "zoho_crm_notifications", "Zoho CRM notification channel"
        ZOHO_BOOKS_WEBHOOK = "zoho_books_webhook", "Zoho Books webhook"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        EXPIRED = "expired", "Expired"
        FAILED = "failed", "Failed"
        DISABLED = "disabled", "Disabled"

    connection = models.ForeignKey(
        Connection, on_delete=models.CASCADE, related_name="webhook_channels"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    channel_id = models.CharField(
        max_length=64, help_text="Our id for the channel, echoed by Zoho."
    )
    token = encrypt(
        models.CharField(
            max_length=64, blank=True, default="", help_text="Echoed in each callback; checked."
        )
    )
    events = models.JSONField(default=list, help_text='e.g. ["Accounts.all", "Contacts.all"]')
    notify_url = models.URLField(max_length=500)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_renewed_at = models.DateTimeField(null=True, blank=True)
    last_delivery_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["connection", "channel_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "channel_id"], name="unique_channel_per_connection"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.channel_id}"

    def expires_soon(self, within: timedelta = timedelta(days=2)) -> bool:
        return self.expires_at is None or self.expires_at <= timezone.now() + within


class CallWindow(models.Model):
    """The calls made to one connection in one minute or one day, counted by every worker and
    machine together (a conditional UPDATE takes each call), so a vendor's per-minute limit and
    daily cap hold however many workers run."""

    class Period(models.TextChoices):
        MINUTE = "minute", "Minute"
        DAY = "day", "Day (UTC)"

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="calls")
    period = models.CharField(max_length=6, choices=Period.choices)
    start = models.BigIntegerField(help_text="The minute or day number since the epoch.")
    used = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connection", "period", "start"], name="callwindow_unique_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connection_id} {self.period} {self.start}: {self.used}"
