"""`python manage.py seed_demo`: the sandbox demo `make run` starts with (connectors.sandbox.demo).

It needs the server answering on `--base-url`, since the connections are made through the
sandbox's OAuth pages over HTTP. Run it again at any time: what exists is left as it is.
"""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from connectors.sandbox.demo import QBO_COMPANY, Outcome, demo_seed


class Command(BaseCommand):
    help = (
        "Seed the sandbox demo: a QuickBooks company, a Zoho CRM org and a Zoho Books "
        "organization with data, the product connected to them, and QuickBooks -> CRM flows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--base-url",
            default=None,
            help="Where this server answers (default: PUBLIC_BASE_URL). It must be running.",
        )

    def handle(self, *args, base_url: str | None, **options) -> None:
        if not settings.SANDBOX_ENABLED:
            raise CommandError(
                "The sandbox is off: set SANDBOX_ENABLED=true (make run does) to seed the demo."
            )
        base = (base_url or settings.PUBLIC_BASE_URL).rstrip("/")
        started = time.monotonic()
        outcomes = demo_seed(base_url=base)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.MIGRATE_HEADING(f"Sandbox demo on {base}"))
        for outcome in outcomes:
            self._line(outcome)
        if not any(outcome.changed for outcome in outcomes):
            self.stdout.write(f"The demo was already in place: nothing changed ({elapsed:.1f} s).")
            return
        self.stdout.write(self.style.SUCCESS(f"Demo ready in {elapsed:.1f} s."))
        self._guide(base, syncing=any(outcome.action == "queued" for outcome in outcomes))

    def _line(self, outcome: Outcome) -> None:
        text = f"  {outcome}"
        self.stdout.write(self.style.SUCCESS(text) if outcome.changed else text)

    def _guide(self, base: str, *, syncing: bool) -> None:
        flows = (
            "the QuickBooks customers and vendors are being copied to Zoho CRM by\n"
            "     the worker now; Sync runs shows each run as it finishes (within a minute)."
            if syncing
            else "QuickBooks customers and vendors -> Zoho CRM; Sync runs shows each run."
        )
        self.stdout.write(
            "\nTry it:\n"
            f"  1. Log in at {base}/admin/ as the admin user (its password is printed when it is\n"
            "     created; `python manage.py changepassword admin` sets a new one).\n"
            f"  2. Sync flows: {flows}\n"
            f"  3. The vendors' side is the sandbox console at {base}/sandbox/ : the company\n"
            f'     "{QBO_COMPANY}", the Zylker CRM and Books orgs,\n'
            "     every request the product made, and the webhooks sent to it.\n"
            "  4. Edit a customer in the sandbox (a phone number, an address) and watch it arrive\n"
            "     in CRM within seconds: QuickBooks sends a webhook, the worker syncs the change.\n"
        )
