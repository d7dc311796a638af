"""Views the browser reaches during OAuth; they translate and call the services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from connectors.base.exceptions import ConnectorError
from connectors.base.oauth import OAuthCallbackError
from connectors.models import Connection
from connectors.oauth import oauth_authorize_url, oauth_callback, oauth_provider
from connectors.zoho_books.organizations import books_organizations, connection_set_organization


def _change_url(connection: Connection) -> str:
    return reverse("admin:connectors_connection_change", args=[connection.pk])


@staff_member_required
def authorize(request: HttpRequest, pk: int) -> HttpResponse:
    """Send the admin to the vendor's consent page with a fresh signed state."""
    connection = get_object_or_404(Connection, pk=pk)
    if not request.user.has_perm("connectors.change_connection"):
        return HttpResponse("You may not change connections.", status=403)
    try:
        oauth_provider(connection)
    except OAuthCallbackError as exc:
        return render(
            request, "connectors/oauth_result.html", {"message": str(exc), "ok": False}, status=400
        )
    if not (connection.client_id and connection.client_secret):
        messages.error(
            request,
            "Enter the client id and client secret from the vendor's developer console first.",
        )
        return redirect(_change_url(connection))
    return redirect(oauth_authorize_url(connection))


@staff_member_required
def oauth_callback_view(request: HttpRequest) -> HttpResponse:
    """Where Intuit and Zoho send the browser back. The signed single-use state is checked before
    anything else; the code is exchanged exactly once."""
    try:
        result = oauth_callback(request.GET)
    except OAuthCallbackError as exc:
        return render(
            request, "connectors/oauth_result.html", {"message": str(exc), "ok": False}, status=400
        )
    except ConnectorError as exc:
        return render(
            request,
            "connectors/oauth_result.html",
            {"message": f"The vendor refused the connection: {exc.message}", "ok": False},
            status=502,
        )
    if result.denied:
        return render(
            request,
            "connectors/oauth_result.html",
            {"message": result.message, "ok": False, "connection": result.connection},
        )
    messages.success(request, result.message)
    if result.needs_organization_choice:
        return redirect("connectors:choose_organization", pk=result.connection.pk)
    return redirect(_change_url(result.connection))


@staff_member_required
@require_http_methods(["GET", "POST"])
def choose_organization(request: HttpRequest, pk: int) -> HttpResponse:
    """Zoho Books: the admin picks which of the account's organizations this connection syncs."""
    connection = get_object_or_404(Connection, pk=pk, system=Connection.System.ZOHO_BOOKS)
    if not request.user.has_perm("connectors.change_connection"):
        return HttpResponse("You may not change connections.", status=403)
    try:
        organizations = books_organizations(connection)
    except ConnectorError as exc:
        messages.error(request, f"Could not list the organizations: {exc.message}")
        return redirect(_change_url(connection))
    if request.method == "POST":
        chosen = request.POST.get("organization_id", "")
        if chosen in {o.organization_id for o in organizations}:
            connection_set_organization(connection, chosen)
            messages.success(request, "Organization saved.")
            return redirect(_change_url(connection))
        messages.error(request, "Choose one of the listed organizations.")
    return render(
        request,
        "connectors/choose_organization.html",
        {
            "connection": connection,
            "organizations": organizations,
            "title": "Choose the Zoho Books organization",
        },
    )
