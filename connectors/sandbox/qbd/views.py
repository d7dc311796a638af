"""The QuickBooks Desktop console: company files and their record counts, the Web Connector's
apps with a "Run now" button, and the last sessions with their logs.

Guarded like the rest of the sandbox console: a staff login and the permission "Can use the
sandbox console". Views read the request, call a service, and render.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from connectors.sandbox.console.views import console_view
from connectors.sandbox.qbd.models import (
    SandboxQbCompany,
    SandboxQbRecord,
    SandboxWcApp,
    SandboxWcSession,
)
from connectors.sandbox.qbd.webconnector import session_run

RECENT_SESSIONS = 20


def _url(request: HttpRequest, name: str, *args: object) -> str:
    """A URL of this app wherever it is mounted (its namespace comes from the request)."""
    namespace = request.resolver_match.namespace if request.resolver_match else "sandbox_qbd"
    return reverse(f"{namespace}:{name}", args=args)


@console_view
@require_GET
def console(request: HttpRequest) -> HttpResponse:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        SandboxQbRecord.objects.filter(deleted_at__isnull=True)
        .values_list("company_id", "kind")
        .annotate(count=Count("pk"))
        .order_by("company_id", "kind")
    )
    for company_id, kind, count in rows:
        counts[company_id][kind] = count
    companies = [
        (company, sorted(counts[company.pk].items())) for company in SandboxQbCompany.objects.all()
    ]
    apps = [
        (app, _url(request, "app-run", app.pk))
        for app in SandboxWcApp.objects.select_related("company")
    ]
    sessions = SandboxWcSession.objects.select_related("app")[:RECENT_SESSIONS]
    context = {
        "site_header": admin.site.site_header,
        "site_title": admin.site.site_title,
        "site_url": admin.site.site_url,
        "has_permission": admin.site.has_permission(request),
        "is_popup": False,
        "is_nav_sidebar_enabled": False,
        "title": "QuickBooks Desktop",
        "companies": companies,
        "apps": apps,
        "sessions": sessions,
    }
    return render(request, "sandbox/qbd/console.html", context)


@console_view
@require_POST
def app_run(request: HttpRequest, pk: int) -> HttpResponse:
    """Run the app's Web Connector session now, in this request, and show how it went."""
    app = get_object_or_404(SandboxWcApp.objects.select_related("company"), pk=pk)
    session = session_run(app)
    summary = f"{app.name}: {session.get_status_display()} after {session.round_trips} round trips"
    if session.status in (SandboxWcSession.Status.DONE, SandboxWcSession.Status.NOTHING_TO_DO):
        messages.success(request, summary + ".")
    else:
        messages.warning(request, f"{summary}. {session.error}".strip())
    return redirect(_url(request, "console"))
