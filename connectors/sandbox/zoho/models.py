"""State of the Zoho fakes: OAuth clients and tokens (Zoho Accounts), CRM orgs with their
records, page tokens and notification channels, and Books organizations with their records and
webhooks. Everything lives in the database so it survives restarts and is shared by every web
process; vendor payloads are kept as JSON because the fakes are driven by data, not by a model per
vendor entity."""

from __future__ import annotations

from django.db import models


class OAuthClient(models.Model):
    """A client registered in the Zoho API console. The secret is learnt on the first token call
    and held to afterwards, which is how a wrong secret becomes `invalid_client`."""

    client_id = models.CharField(max_length=200, unique=True)
    client_secret = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.client_id


class GrantCode(models.Model):
    """An authorization code from the consent page: single use, short-lived, and bound to the
    client, the redirect URI and what the user consented to."""

    code = models.CharField(max_length=120, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE)
    redirect_uri = models.CharField(max_length=500)
    scope = models.TextField()
    offline = models.BooleanField(default=True)
    prompt_consent = models.BooleanField(default=True)
    crm_org = models.ForeignKey("CrmOrg", null=True, blank=True, on_delete=models.CASCADE)
    books_user_email = models.EmailField(blank=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"code for {self.client}"


class RefreshToken(models.Model):
    """One consent: the scope and the org(s) it reaches. Online grants get a row too, whose token
    is never handed out, so every access token hangs off one of these."""

    token = models.CharField(max_length=120, unique=True)
    client = models.ForeignKey(OAuthClient, on_delete=models.CASCADE)
    scope = models.TextField()
    offline = models.BooleanField(default=True)
    crm_org = models.ForeignKey("CrmOrg", null=True, blank=True, on_delete=models.CASCADE)
    books_user_email = models.EmailField(blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"refresh token of {self.client} ({self.scope[:40]})"


class AccessToken(models.Model):
    token = models.CharField(max_length=120, unique=True)
    refresh = models.ForeignKey(RefreshToken, on_delete=models.CASCADE, related_name="accesses")
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["refresh", "revoked_at", "created_at"])]

    def __str__(self) -> str:
        return f"access token of {self.refresh.client}"


class CrmOrg(models.Model):
    """A Zoho CRM organization, with the settings that change what its API accepts."""

    class LineItems(models.TextChoices):
        V8 = "v8", "Invoiced_Items / Quoted_Items / Ordered_Items / Purchased_Items"
        LEGACY = "legacy", "Product_Details (orgs still on the old naming)"

    org_id = models.CharField(max_length=19, unique=True)
    id_prefix = models.CharField(max_length=7, unique=True)
    id_seq = models.BigIntegerField(default=1000000)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    multi_currency = models.BooleanField(default=False)
    currencies = models.JSONField(default=list, blank=True, help_text="Extra enabled currencies.")
    line_items = models.CharField(max_length=10, choices=LineItems.choices, default="v8")
    vendors_enabled = models.BooleanField(default=True)
    user_id = models.CharField(max_length=19)
    user_name = models.CharField(max_length=200, default="Sandbox Admin")
    user_email = models.EmailField(default="admin@sandbox.example")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.org_id})"


class CrmRecord(models.Model):
    """One record of any module. `data` holds the fields as Zoho returns them, lookups already
    normalised to `{"id", "name"}`; system fields are columns so they can be sorted and filtered."""

    org = models.ForeignKey(CrmOrg, on_delete=models.CASCADE, related_name="records")
    module = models.CharField(max_length=60)
    record_id = models.CharField(max_length=19)
    data = models.JSONField(default=dict)
    locked = models.BooleanField(default=False, help_text="In approval: updates are refused.")
    created_at = models.DateTimeField()
    modified_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "record_id"], name="unique_crm_record_id")
        ]
        indexes = [
            models.Index(fields=["org", "module", "deleted_at", "modified_at"]),
            models.Index(fields=["org", "module", "deleted_at", "record_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.module} {self.record_id}"


class CrmPageToken(models.Model):
    """Where a paged read stopped: the sort key of the last record served and the query it was
    serving. Opaque to clients, stored here, expiring like Zoho's."""

    token = models.CharField(max_length=80, unique=True)
    org = models.ForeignKey(CrmOrg, on_delete=models.CASCADE)
    module = models.CharField(max_length=60)
    query = models.JSONField(default=dict)
    last_sort_value = models.CharField(max_length=40)
    last_record_id = models.CharField(max_length=19)
    page = models.PositiveIntegerField()
    previous_token = models.CharField(max_length=80, blank=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"page {self.page} of {self.module}"


class CrmChannel(models.Model):
    """A notification channel (`/actions/watch`). Zoho deletes a channel once it expires."""

    org = models.ForeignKey(CrmOrg, on_delete=models.CASCADE, related_name="channels")
    channel_id = models.CharField(max_length=30)
    events = models.JSONField(default=list)
    notify_url = models.URLField(max_length=500)
    token = models.CharField(max_length=50, blank=True)
    return_affected_field_values = models.BooleanField(default=False)
    notify_on_related_action = models.BooleanField(default=True)
    resource_base = models.CharField(max_length=300, help_text="`<api_domain>/crm/v8`.")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "channel_id"], name="unique_crm_channel")
        ]

    def __str__(self) -> str:
        return f"channel {self.channel_id} -> {self.notify_url}"


class BooksOrganization(models.Model):
    """A Zoho Books organization. `user_email` is the Zoho user who owns it: one user can have
    several organizations, and a Books token reaches all of them."""

    organization_id = models.CharField(max_length=20, unique=True)
    id_prefix = models.CharField(max_length=7, unique=True)
    id_seq = models.BigIntegerField(default=10000)
    invoice_seq = models.PositiveIntegerField(default=0)
    name = models.CharField(max_length=200)
    currency_code = models.CharField(max_length=3, default="USD")
    user_email = models.EmailField(default="admin@sandbox.example", db_index=True)
    is_default_org = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.organization_id})"


class BooksRecord(models.Model):
    """A contact, item, invoice or customer payment, kept as the JSON Books returns for it."""

    class Entity(models.TextChoices):
        CONTACT = "contact", "Contact"
        ITEM = "item", "Item"
        INVOICE = "invoice", "Invoice"
        PAYMENT = "payment", "Customer payment"

    org = models.ForeignKey(BooksOrganization, on_delete=models.CASCADE, related_name="records")
    entity = models.CharField(max_length=10, choices=Entity.choices)
    record_id = models.BigIntegerField()
    data = models.JSONField(default=dict)
    name = models.CharField(max_length=200, blank=True, help_text="For sorting and search.")
    customer_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    modified_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "record_id"], name="unique_books_record_id")
        ]
        indexes = [models.Index(fields=["org", "entity", "modified_at"])]

    def __str__(self) -> str:
        return f"{self.entity} {self.record_id}"


class BooksWebhook(models.Model):
    """A webhook registered through `/settings/webhooks`, signed with its secret."""

    org = models.ForeignKey(BooksOrganization, on_delete=models.CASCADE, related_name="webhooks")
    webhook_id = models.BigIntegerField(unique=True)
    name = models.CharField(max_length=200)
    entity = models.CharField(max_length=10, choices=BooksRecord.Entity.choices)
    events = models.JSONField(default=list)
    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=50)
    query_parameters = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.entity} webhook -> {self.url}"


class CrmRelation(models.Model):
    """A record of one module related to a record of another through a related list (a
    Deal's Products)."""

    org = models.ForeignKey(CrmOrg, on_delete=models.CASCADE, related_name="relations")
    module = models.CharField(max_length=60)
    record_id = models.CharField(max_length=19)
    related_list = models.CharField(max_length=60)
    related_id = models.CharField(max_length=19)
    linked_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "record_id", "related_list", "related_id"],
                name="unique_crm_relation",
            )
        ]

    def __str__(self) -> str:
        return f"{self.module} {self.record_id} {self.related_list} {self.related_id}"
