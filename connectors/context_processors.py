from django.http import HttpRequest

from connectors.models import Connection


def connection_alerts(request: HttpRequest) -> dict:
    """Every admin page says which connections need someone to reconnect them."""
    user = getattr(request, "user", None)
    if not (user and user.is_authenticated and user.is_staff):
        return {}
    broken = list(
        Connection.objects.filter(status=Connection.Status.NEEDS_REAUTH).only(
            "pk", "name", "system"
        )
    )
    return {"connections_needing_reauth": broken}
