"""The connections console: status at a glance, secrets never shown whole, and the Connect,
Reconnect and Test buttons as per-object admin views (as Django's UserAdmin does passwords)."""

from __future__ import annotations

from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from connectors.base.exceptions import ConnectorError
from connectors.base.hosts import override_problem
from connectors.models import Connection
from connectors.oauth import redirect_uri
from connectors.quota import calls_today
from connectors.registry import system_spec
from connectors.services import connection_test, mask_secret

STATUS_COLOURS = {
    Connection.Status.CONNECTED: "#1e7e34",
    Connection.Status.PENDING: "#8a6d00",
    Connection.Status.NEEDS_REAUTH: "#c62828",
    Connection.Status.DISABLED: "#6c757d",
}
WRITE_ONLY_SECRETS = ("client_secret", "webhook_secret")


class ConnectionForm(forms.ModelForm):
    """Secrets are write-only: a blank field keeps the stored value."""

    client_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="From the vendor's developer console. Leave blank to keep the stored one.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="QBO: the webhook verifier token. Zoho Books: the webhook secret. Leave blank to keep it.",
    )

    api_base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="API base URL override",
        help_text=(
            "Leave blank for the vendor's own. Accepted only for the sandbox (with the sandbox "
            "enabled) or a host listed in CONNECTION_URL_ALLOWED_HOSTS."
        ),
    )
    oauth_base_url = forms.URLField(
        required=False,
        assume_scheme="https",
        label="OAuth base URL override",
        help_text=(
            "Leave blank for the vendor's own authorisation and token servers. The same rule "
            "as the API override applies."
        ),
    )

    class Meta:
        model = Connection
        fields = [
            "name",
            "system",
            "environment",
            "data_centre",
            "client_id",
            "client_secret",
            "webhook_secret",
            "api_base_url",
            "oauth_base_url",
            "daily_call_cap",
        ]

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        for name in WRITE_ONLY_SECRETS:
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        system = cleaned.get("system") or self.instance.system
        if system:  # an override that would carry this connection's tokens elsewhere
            hosts = system_spec(system).hosts
            for name in ("api_base_url", "oauth_base_url"):
                if problem := override_problem(cleaned.get(name) or "", hosts):
                    self.add_error(name, problem)
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin):
    form = ConnectionForm
    change_form_template = "admin/connectors/connection/change_form.html"
    list_display = [
        "name",
        "system",
        "status_badge",
        "region",
        "last_ok_at",
        "short_error",
        "api_call_count",
    ]
    list_filter = ["system", "status", "data_centre", "environment"]
    search_fields = ["name", "realm_id", "organization_id", "client_id"]
    readonly_fields = [
        "status_badge",
        "registered_redirect_uri",
        "client_secret_masked",
        "webhook_secret_masked",
        "access_token_masked",
        "refresh_token_masked",
        "access_token_expires_at",
        "refresh_token_expires_at",
        "refresh_token_hard_expires_at",
        "realm_id",
        "organization_id",
        "api_domain",
        "accounts_server",
        "last_ok_at",
        "last_error",
        "api_call_count",
        "calls_today",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["name", "system", "status_badge", "environment", "data_centre"]}),
        (
            "App credentials",
            {
                "fields": [
                    "registered_redirect_uri",
                    "client_id",
                    "client_secret",
                    "client_secret_masked",
                    "webhook_secret",
                    "webhook_secret_masked",
                ]
            },
        ),
        (
            "Granted access",
            {
                "fields": [
                    "realm_id",
                    "organization_id",
                    "accounts_server",
                    "api_domain",
                    "access_token_masked",
                    "access_token_expires_at",
                    "refresh_token_masked",
                    "refresh_token_expires_at",
                    "refresh_token_hard_expires_at",
                ]
            },
        ),
        (
            "Health",
            {
                "fields": [
                    "last_ok_at",
                    "last_error",
                    "api_call_count",
                    "calls_today",
                    "daily_call_cap",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
        ("Advanced", {"classes": ["collapse"], "fields": ["api_base_url", "oauth_base_url"]}),
    ]

    @admin.display(description="API calls today (UTC)")
    def calls_today(self, obj: Connection) -> str:
        used = calls_today(obj)
        if not obj.daily_call_cap:
            return f"{used}"
        share = used / obj.daily_call_cap
        return f"{used} of {obj.daily_call_cap} ({share:.0%})"

    @admin.display(description="Status", ordering="status")
    def status_badge(self, obj: Connection) -> str:
        colour = STATUS_COLOURS.get(Connection.Status(obj.status), "#6c757d")
        return format_html(
            '<span style="color:#fff;background:{};padding:2px 8px;border-radius:9px">{}</span>',
            colour,
            obj.get_status_display(),
        )

    @admin.display(description="Region")
    def region(self, obj: Connection) -> str:
        if obj.oauth_base_url:  # pointed at a local fake or another server
            return f"Custom ({urlsplit(obj.oauth_base_url).netloc})"
        region = system_spec(obj.system).region
        return region(obj) if region else "—"

    @admin.display(description="Last error")
    def short_error(self, obj: Connection) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    @admin.display(description="Redirect URI to register")
    def registered_redirect_uri(self, obj: Connection) -> str:
        return format_html("<code>{}</code>", redirect_uri())

    @admin.display(description="Stored client secret")
    def client_secret_masked(self, obj: Connection) -> str:
        return mask_secret(obj.client_secret)

    @admin.display(description="Stored webhook secret")
    def webhook_secret_masked(self, obj: Connection) -> str:
        return mask_secret(obj.webhook_secret)

    @admin.display(description="Access token")
    def access_token_masked(self, obj: Connection) -> str:
        return mask_secret(obj.access_token)

    @admin.display(description="Refresh token")
    def refresh_token_masked(self, obj: Connection) -> str:
        return mask_secret(obj.refresh_token)

    def get_fieldsets(self, request: HttpRequest, obj: Connection | None = None):
        """A system without OAuth (QuickBooks Desktop) has no app credentials, granted access,
        API overrides or region to show."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or system_spec(obj.system).oauth is not None:
            return fieldsets
        api_only = {"App credentials", "Granted access", "Advanced"}
        regional = {"environment", "data_centre"}
        return [
            (name, {**options, "fields": [f for f in options["fields"] if f not in regional]})
            for name, options in fieldsets
            if name not in api_only
        ]

    def get_urls(self):
        return [
            path(
                "<int:pk>/test/",
                self.admin_site.admin_view(self.test_view),
                name="connectors_connection_test",
            ),
            *super().get_urls(),
        ]

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Call the remote system's cheapest read and say what it answered."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        connection = get_object_or_404(Connection, pk=pk)
        if not self.has_change_permission(request, connection):
            raise PermissionDenied
        try:
            name = connection_test(connection)
        except ConnectorError as exc:
            self.message_user(request, f"Test failed: {exc}", messages.ERROR)
        else:
            self.message_user(request, f"Connected to {name}.", messages.SUCCESS)
            self.log_change(request, connection, "Tested the connection.")
        return HttpResponseRedirect(reverse("admin:connectors_connection_change", args=[pk]))

    def render_change_form(self, request, context, *args, **kwargs):
        obj = context.get("original")
        if obj is not None:
            context["connect_url"] = reverse("connectors:authorize", args=[obj.pk])
            context["test_url"] = reverse("admin:connectors_connection_test", args=[obj.pk])
            spec = system_spec(obj.system)
            context["uses_oauth"] = spec.oauth is not None
            context["needs_org_choice"] = bool(spec.awaits_choice and spec.awaits_choice(obj))
            context["choose_org_url"] = reverse("connectors:choose_organization", args=[obj.pk])
            context["system_links"] = spec.admin_links(obj) if spec.admin_links else []
        return super().render_change_form(request, context, *args, **kwargs)
