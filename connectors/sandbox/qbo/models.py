"""The QBO fake's state: sandbox companies, OAuth apps and tokens, entity records, replays.

Everything lives in the database so the fake survives restarts and every web process sees the
same companies. Tokens and codes are stored as SHA-256 digests, as a real authorization server
would: a leaked table does not leak working credentials.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models


def default_webhook_url() -> str:
    """Where Intuit would deliver: this project's own QBO webhook view."""
    return settings.PUBLIC_BASE_URL + "/webhooks/qbo/"


def new_verifier_token() -> str:
    return secrets.token_urlsafe(24)


def token_digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class Company(models.Model):
    """A sandbox company (a realm), like the ones Intuit's developer portal creates."""

    class WebhookFormat(models.TextChoices):
        LEGACY = "legacy", "Legacy eventNotifications"
        CLOUDEVENTS = "cloudevents", "CloudEvents"

    realm_id = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    country = models.CharField(max_length=2, default="US")
    currency = models.CharField(max_length=3, default="USD")
    webhook_url = models.URLField(max_length=500, blank=True, default=default_webhook_url)
    webhook_format = models.CharField(
        max_length=12, choices=WebhookFormat.choices, default=WebhookFormat.LEGACY
    )
    # Kept readable: the console shows it so a developer can paste it into the product's
    # connection, exactly as they would copy it from Intuit's portal. It guards nothing real.
    verifier_token = models.CharField(max_length=100, default=new_verifier_token)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "companies"

    def __str__(self) -> str:
        return f"{self.name} ({self.realm_id})"


class OAuthApp(models.Model):
    """A client id, registered with its secret on its first token call and held to it after."""

    client_id = models.CharField(max_length=200, unique=True)
    secret_digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_id

    def secret_matches(self, secret: str) -> bool:
        return secrets.compare_digest(self.secret_digest, token_digest(secret))


class Grant(models.Model):
    """One app's connection to one company: what an authorization code turns into.

    Revoking it (a revoke call, or a second exchange of its code) kills all of its tokens.
    """

    app = models.ForeignKey(OAuthApp, on_delete=models.CASCADE, related_name="grants")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="grants")
    scope = models.CharField(max_length=500)
    hard_expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.app} -> {self.company}"


class AuthorizationCode(models.Model):
    """A single-use, short-lived code bound to a client id, a redirect URI and a company."""

    code_digest = models.CharField(max_length=64, unique=True)
    client_id = models.CharField(max_length=200)
    redirect_uri = models.CharField(max_length=1000)
    scope = models.CharField(max_length=500)
    company = models.ForeignKey(Company, on_delete=models.CASCADE)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # The grant its first exchange created: a second exchange revokes it, as Intuit does.
    grant = models.ForeignKey(Grant, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"code for {self.client_id} -> {self.company_id}"


class Token(models.Model):
    """An access or refresh token. A refresh token is `replaced` when it is used: rotation."""

    class Kind(models.TextChoices):
        ACCESS = "access", "Access token"
        REFRESH = "refresh", "Refresh token"

    grant = models.ForeignKey(Grant, on_delete=models.CASCADE, related_name="tokens")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    token_digest = models.CharField(max_length=64, unique=True)
    expires_at = models.DateTimeField()
    replaced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} token of {self.grant}"


class Record(models.Model):
    """One entity (Customer, Invoice...) of one company, stored as its JSON document.

    The document holds the entity's own fields; Id, SyncToken, MetaData, domain and sparse are
    rendered from the columns so they can never disagree with what queries filter on.
    """

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="records")
    entity = models.CharField(max_length=30)
    qbo_id = models.PositiveBigIntegerField()
    sync_token = models.PositiveIntegerField(default=0)
    doc = models.JSONField(default=dict)
    active = models.BooleanField(default=True)
    deleted = models.BooleanField(default=False)
    # The uniqueness key of a name (DisplayName for Customer/Vendor, Name for Item) and the
    # namespace it is unique in; a database constraint settles two concurrent creates.
    name_space = models.CharField(max_length=10, blank=True)
    name_key = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["company", "entity", "qbo_id"], name="sandbox_qbo_unique_record_id"
            ),
            models.UniqueConstraint(
                fields=["company", "name_space", "name_key"],
                condition=~models.Q(name_key=""),
                name="sandbox_qbo_unique_name",
            ),
        ]
        indexes = [
            models.Index(
                fields=["company", "entity", "updated_at"], name="sandbox_qbo_rec_updated"
            ),
            models.Index(fields=["updated_at"], name="sandbox_qbo_rec_updated_at"),
        ]

    def __str__(self) -> str:
        return f"{self.entity} {self.qbo_id} of {self.company_id}"


class Replay(models.Model):
    """The first answer to a write that carried `requestid`, returned again for a repeat."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="replays")
    request_id = models.CharField(max_length=100)
    status = models.PositiveSmallIntegerField()
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["company", "request_id"], name="sandbox_qbo_unique_request_id"
            )
        ]

    def __str__(self) -> str:
        return f"requestid {self.request_id} of {self.company_id}"


class Counter(models.Model):
    """A per-company sequence: one per entity's Ids, plus DocNumbers and address Ids."""

    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="counters")
    name = models.CharField(max_length=40)
    value = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["company", "name"], name="sandbox_qbo_unique_counter")
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} of {self.company_id}"
