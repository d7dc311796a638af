"""QuickBooks Desktop company files in the admin: the Web Connector login (the password is
set here and only its hash kept), the .qwc to download, and the last sessions."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from connectors.models import Connection
from connectors.qbd.models import QbdCompany, QbwcSession


class QbdCompanyForm(forms.ModelForm):
    new_password = forms.CharField(
        label="Web Connector password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Typed into the Web Connector when the .qwc is added. Leave blank to keep it.",
    )

    class Meta:
        model = QbdCompany
        fields = ["connection", "username", "company_file", "poll_minutes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        connection = self.fields["connection"]
        assert isinstance(connection, forms.ModelChoiceField)
        connection.queryset = Connection.objects.filter(system=Connection.System.QBD)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.instance.password and not cleaned.get("new_password"):
            self.add_error("new_password", "A new company file needs a password.")
        return cleaned

    def save(self, commit: bool = True) -> QbdCompany:
        company = super().save(commit=False)
        if self.cleaned_data.get("new_password"):
            company.set_password(self.cleaned_data["new_password"])
        if commit:
            company.save()
        return company


class SessionInline(admin.TabularInline):
    model = QbwcSession
    fields = ["started_at", "status", "progress", "records_received", "writes_sent", "note"]
    readonly_fields = [
        "started_at",
        "status",
        "progress",
        "records_received",
        "writes_sent",
        "note",
    ]
    extra = 0
    max_num = 0
    can_delete = False
    ordering = ["-started_at"]
    verbose_name_plural = "Sessions of the last 7 days"

    def get_queryset(self, request: Any) -> Any:
        since = timezone.now() - timedelta(days=7)
        return super().get_queryset(request).filter(started_at__gte=since)


@admin.register(QbdCompany)
class QbdCompanyAdmin(admin.ModelAdmin):
    form = QbdCompanyForm
    list_display = ["connection", "company_file", "username", "last_session", "qwc_link"]
    readonly_fields = ["owner_id", "file_id", "watermarks", "page_sizes", "qwc_link"]
    inlines = [SessionInline]

    def save_model(self, request: Any, obj: QbdCompany, form: Any, change: bool) -> None:
        """A company file with its login is ready for the Web Connector: its connection is
        connected (a pending one, that is: one an admin disabled stays so)."""
        super().save_model(request, obj, form, change)
        Connection.objects.filter(pk=obj.connection_id, status=Connection.Status.PENDING).update(
            status=Connection.Status.CONNECTED
        )

    @admin.display(description=".qwc")
    def qwc_link(self, obj: QbdCompany) -> str:
        if not obj.pk:
            return "Saved first, then downloadable."
        url = reverse("qbd:qwc", args=[obj.pk])
        return format_html('<a class="button" href="{}">Download .qwc</a>', url)

    @admin.display(description="Last session")
    def last_session(self, obj: QbdCompany) -> str:
        session = obj.sessions.order_by("-started_at").first()
        if session is None:
            return "None yet"
        return f"{session.get_status_display()} {session.started_at:%Y-%m-%d %H:%M}"


@admin.register(QbwcSession)
class QbwcSessionAdmin(admin.ModelAdmin):
    list_display = ["started_at", "company", "status", "progress", "records_received", "note"]
    list_filter = ["status", "company"]
    readonly_fields = [f.name for f in QbwcSession._meta.fields if f.name != "ticket"]
    exclude = ["ticket"]

    def has_add_permission(self, request: Any) -> bool:
        return False
