"""The QuickBooks Desktop fake's state: company files and their records, scripted faults, the
iterators QuickBooks holds open, and the Web Connector's registered apps and their sessions.

Everything lives in the database so a session survives the product's web server restarting
in the middle of it, as a real QuickBooks would go on holding its iterators.
"""

from __future__ import annotations

from django.db import models


class SandboxQbCompany(models.Model):
    """A company file open in QuickBooks Desktop, e.g. `C:\\Books\\Acme.QBW`.

    `file_ids` is what the Web Connector writes into the file the first time an app connects:
    a FileID DataExt under the app's OwnerID, `{owner_id: file_id}`, both braced GUIDs.
    """

    name = models.CharField(max_length=59)
    file_path = models.CharField(max_length=260)
    file_ids = models.JSONField(default=dict, blank=True)
    country = models.CharField(max_length=2, default="US")
    qbxml_version = models.CharField(
        max_length=5, default="13.0", help_text="The highest qbXML version it supports."
    )
    time_zone = models.CharField(
        max_length=60, default="America/New_York", help_text="The QuickBooks machine's zone."
    )
    # Sequences behind ListIDs (80000001-...) and TxnIDs (1-...); counted by conditional updates.
    list_counter = models.PositiveBigIntegerField(default=0)
    txn_counter = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "QuickBooks company file"

    def __str__(self) -> str:
        return f"{self.name} ({self.file_path})"


class SandboxQbRecord(models.Model):
    """One list element (Customer, ItemService...) or transaction (Invoice) of a company.

    `data` holds its fields under their qbXML names; ListID or TxnID, EditSequence, the two
    times and IsActive are rendered from the columns, so queries and answers cannot disagree.
    A deleted record keeps its row, with `deleted_at`, for ListDeletedQuery and TxnDeletedQuery.
    """

    company = models.ForeignKey(SandboxQbCompany, on_delete=models.CASCADE, related_name="records")
    kind = models.CharField(max_length=40)
    record_id = models.CharField(max_length=36)
    edit_sequence = models.CharField(max_length=20)
    # FullName for list elements (unique per name space), RefNumber for transactions.
    name = models.CharField(max_length=209, blank=True)
    time_created = models.DateTimeField()
    time_modified = models.DateTimeField()
    data = models.JSONField(default=dict)
    is_active = models.BooleanField(default=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "QuickBooks record"
        constraints = [
            models.UniqueConstraint(
                fields=["company", "record_id"], name="sandbox_qbd_unique_record_id"
            )
        ]
        indexes = [
            models.Index(fields=["company", "kind", "time_modified"], name="sandbox_qbd_modified"),
            models.Index(fields=["company", "kind", "name"], name="sandbox_qbd_name"),
            models.Index(fields=["company", "deleted_at"], name="sandbox_qbd_deleted"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} of {self.company_id}"


class SandboxQbFault(models.Model):
    """A failure scripted for the next matching request(s): a status code on that request's
    answer (3170 locked, 3180 save failed, 3250 not enabled...) or, with `hresult`, the request
    processor refusing the whole message (0x80040400), as QuickBooks itself sometimes does."""

    company = models.ForeignKey(SandboxQbCompany, on_delete=models.CASCADE, related_name="faults")
    request_type = models.CharField(
        max_length=60, default="*", help_text='An Rq tag such as "CustomerModRq", or "*".'
    )
    status_code = models.PositiveIntegerField(null=True, blank=True)
    hresult = models.CharField(max_length=10, blank=True, help_text='E.g. "0x80040400".')
    message = models.CharField(max_length=500, blank=True)
    remaining_uses = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        what = self.hresult or self.status_code
        return f"{what} for {self.request_type} ({self.remaining_uses} left)"


class SandboxWcApp(models.Model):
    """An application added to the Web Connector from its .qwc file, with the password the
    user typed into QBWC. Plain text: this is the dev sandbox; it is never logged."""

    name = models.CharField(max_length=200)
    app_url = models.URLField(max_length=500)
    username = models.CharField(max_length=200)
    password = models.CharField(max_length=200)
    owner_id = models.CharField(max_length=38)
    file_id = models.CharField(max_length=38)
    company = models.ForeignKey(SandboxQbCompany, on_delete=models.CASCADE, related_name="apps")
    run_every_minutes = models.PositiveIntegerField(default=5)
    enabled = models.BooleanField(default=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "Web Connector app"

    def __str__(self) -> str:
        return self.name


class SandboxWcSession(models.Model):
    """One update of one app, from serverVersion to closeConnection, with QBWC's log of it."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        NOTHING_TO_DO = "none", "No data exchange required"
        INVALID_USER = "nvu", "Invalid user"
        BUSY = "busy", "Application busy"
        DROPPED = "dropped", "Dropped (no closeConnection)"
        ERROR = "error", "Error"

    app = models.ForeignKey(SandboxWcApp, on_delete=models.CASCADE, related_name="sessions")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    ticket = models.CharField(max_length=200, blank=True)
    progress = models.IntegerField(default=0)
    round_trips = models.PositiveIntegerField(default=0)
    log = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    slowest_call = models.CharField(max_length=100, blank=True)
    slowest_ms = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        verbose_name = "Web Connector session"

    def __str__(self) -> str:
        return f"{self.app} at {self.started_at:%Y-%m-%d %H:%M:%S} ({self.status})"


class SandboxQbIterator(models.Model):
    """An iterator QuickBooks holds open: the records its Start matched, and how far the
    Continues have read. It belongs to the Web Connector session that opened it, if any."""

    company = models.ForeignKey(
        SandboxQbCompany, on_delete=models.CASCADE, related_name="iterators"
    )
    session = models.ForeignKey(
        SandboxWcSession, null=True, blank=True, on_delete=models.CASCADE, related_name="iterators"
    )
    iterator_id = models.CharField(max_length=38, unique=True)
    request_type = models.CharField(max_length=60)
    record_pks = models.JSONField(default=list)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.request_type} iterator {self.iterator_id}"
