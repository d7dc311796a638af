"""Create or update the recurring tasks (idempotent: run by `make run` and on every deploy)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import timezone
from django_q.models import Schedule

SCHEDULES = [
    ("Inbox sweeper", "syncs.tasks.inbox_sweep", 1),
    ("Retry transient errors", "syncs.tasks.sync_errors_retry_due", 1),
    ("Refresh access tokens", "syncs.tasks.tokens_refresh", 5),
    (
        "Reconcile flows (changes since each cursor, both sides of two-way flows)",
        "syncs.tasks.flows_reconcile",
        None,
    ),
    ("Ensure and renew notification channels", "syncs.tasks.channels_renew", 60),
    ("Sandbox webhook deliveries", "connectors.sandbox.delivery.deliveries_run_due", 1),
    ("Sandbox Web Connector sessions", "connectors.sandbox.qbd.webconnector.apps_due_run", 1),
]
# Schedules by an earlier name: removed, or they would run beside their renamed selves.
RETIRED = [
    "Reconcile flows (QBO change data capture)",
    "Reconcile flows (QBO change data capture, CRM side of two-way flows)",
    "Renew Zoho CRM notification channels",
    "Ensure and renew Zoho CRM notification channels",
]


class Command(BaseCommand):
    help = "Create or update ml-connector's django-q2 schedules."

    def handle(self, *args, **options) -> None:
        Schedule.objects.filter(name__in=RETIRED).delete()
        for name, func, minutes in SCHEDULES:
            if func.startswith("connectors.sandbox") and not settings.SANDBOX_ENABLED:
                Schedule.objects.filter(name=name).delete()
                continue
            minutes = minutes or settings.SYNC_RECONCILE_MINUTES
            _, created = Schedule.objects.update_or_create(
                name=name,
                defaults={
                    "func": func,
                    "schedule_type": Schedule.MINUTES,
                    "minutes": minutes,
                    "repeats": -1,
                },
            )
            if created:
                Schedule.objects.filter(name=name).update(next_run=timezone.now())
        self.stdout.write(f"{len(SCHEDULES)} schedules in place.")
