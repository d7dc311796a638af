"""The console's own writes: fault settings and sending a delivery now. Record writes go through
the fakes' services (see `qbo.py` and `zoho.py` here)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from connectors.sandbox.console.forms import FaultProfileForm
from connectors.sandbox.delivery import delivery_attempt
from connectors.sandbox.models import FaultProfile, OutboundDelivery


def fault_profile_save(*, vendor: str, data: Any) -> FaultProfileForm:
    """Validate and save one fake's settings; the bound form, with errors when invalid."""
    with transaction.atomic():
        form = FaultProfileForm(data, instance=FaultProfile.for_vendor(vendor), prefix=vendor)
        if form.is_valid():
            form.save()
    return form


def delivery_send_now(*, delivery_id: int) -> OutboundDelivery | None:
    """Send a pending delivery now, even one waiting out its backoff; None when it is no longer
    pending. The attempt itself is the worker's (`delivery_attempt`): it claims the delivery
    first, so a worker sending it at the same moment cannot send it twice."""
    due = OutboundDelivery.objects.filter(
        pk=delivery_id, status=OutboundDelivery.Status.PENDING
    ).update(next_attempt_at=timezone.now())
    if not due:
        return None
    delivery_attempt(delivery_id)
    return OutboundDelivery.objects.get(pk=delivery_id)
