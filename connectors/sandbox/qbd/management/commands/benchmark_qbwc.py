"""Measure QuickBooks Desktop -> Zoho CRM through one Web Connector session.

Everything real but the vendors: the product answers /qbwc/ on a local server this command
starts (a thread of this process), the sandbox's Web Connector calls it over HTTP as QBWC does,
the sandbox's QuickBooks answers the qbXML, and the engine takes the inbox into the sandbox CRM
with the default flows (customers -> Accounts, items -> Products, invoices -> Deals with their
Products). Prints the session's round trips, its slowest SOAP answer, records read per minute,
the engine's time and CRM calls per 1000 records, a second session with nothing changed and a
third with 1% of the customers edited (the steady state), and the process's peak memory. CPU
time is printed beside wall time (it holds steady on a shared machine). Run it with the sandbox
on:

    SANDBOX_ENABLED=true python manage.py benchmark_qbwc --customers 10000 --invoices 2000
"""

from __future__ import annotations

import resource
import time
import uuid
from typing import Any

from django.core.management.base import BaseCommand
from django.db.models import Sum

from connectors.models import Connection
from connectors.qbd.models import QbdCompany, QbwcSession
from connectors.qbd.qwc import qwc_document
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.qbd import services as qb
from connectors.sandbox.qbd.demo import app_from_qwc
from connectors.sandbox.qbd.models import SandboxQbRecord, SandboxWcApp
from connectors.sandbox.qbd.webconnector import session_run
from connectors.sandbox.serving import serve_locally
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.live import inbox_drain
from syncs.models import ChangeEvent, SyncFlow, SyncRun
from syncs.services import flow_create_with_defaults

PAIRS = (("Item", "Products"), ("Customer", "Accounts"), ("Invoice", "Deals"))


class Command(BaseCommand):
    help = "Benchmark one Web Connector session of a large company file into the sandbox CRM."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=10000)
        parser.add_argument("--items", type=int, default=50)
        parser.add_argument("--invoices", type=int, default=2000)

    def handle(self, *args: Any, customers: int, items: int, invoices: int, **options) -> None:
        server, base_url = serve_locally()
        tag = uuid.uuid4().hex[:6]
        try:
            app, flows = self._prepare(base_url, tag, customers, items, invoices)
            records = customers + items + invoices
            self._first(app, flows, records)
            self._again(app, flows, records, "Nothing changed")
            edited = SandboxQbRecord.objects.filter(company=app.company, kind="Customer")[
                : max(customers // 100, 1)
            ]
            for record in edited:
                qb.record_modify(record=record, changes={"Phone": "650-555-0100"})
            self._again(app, flows, records, f"{len(edited)} customers edited (1%)")
            self.stdout.write(
                f"Peak process RSS:               "
                f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB"
            )
        finally:
            server.shutdown()

    def _prepare(
        self, base_url: str, tag: str, customers: int, items: int, invoices: int
    ) -> tuple[SandboxWcApp, list[SyncFlow]]:
        started = time.monotonic()
        company = qb.company_create(name=f"Benchmark {tag}", file_path=rf"C:\Bench\{tag}.QBW")
        qb.company_seed(company, customers=customers, items=items, invoices=invoices, seed=1)
        org = zoho_sandbox.crm_org_create(name=f"Benchmark CRM {tag}")
        crm = sandbox_connection_create(
            system=Connection.System.ZOHO_CRM,
            name=f"Benchmark CRM {tag}",
            base_url=base_url,
            org_id=org.org_id,
        )
        connection = Connection.objects.create(
            system=Connection.System.QBD,
            name=f"Benchmark Desktop {tag}",
            status=Connection.Status.CONNECTED,
        )
        password = uuid.uuid4().hex
        desktop = QbdCompany(
            connection=connection, username=f"bench-{tag}", company_file=company.file_path
        )
        desktop.set_password(password)
        desktop.save()
        flows = [
            flow_create_with_defaults(
                name=f"Benchmark {tag} {source}",
                source=connection,
                target=crm,
                source_entity=source,
                target_entity=target,
            )
            for source, target in PAIRS
        ]
        app = app_from_qwc(qwc_document(desktop), password=password, company=company)
        self.stdout.write(
            f"Prepared {customers} customers, {items} items and {invoices} invoices in "
            f"{time.monotonic() - started:.1f} s."
        )
        return app, flows

    def _session(self, app: SandboxWcApp) -> tuple[Any, QbwcSession, float, float]:
        started, cpu = time.monotonic(), time.process_time()
        played = session_run(app)
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        ours = QbwcSession.objects.get(ticket=played.ticket)
        return played, ours, elapsed, cpu

    def _engine(self, flows: list[SyncFlow]) -> tuple[int, float, float, int]:
        """Drain the inbox: (records processed, wall s, CPU s, CRM calls)."""
        first_run = SyncRun.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        started, cpu = time.monotonic(), time.process_time()
        processed = 0
        while ChangeEvent.objects.exclude(status=ChangeEvent.Status.DONE).exists():
            done = inbox_drain(limit=500)
            processed += done
            if not done:
                break
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        runs = SyncRun.objects.filter(pk__gt=first_run, flow__in=flows)
        calls = runs.aggregate(calls=Sum("target_api_calls"))["calls"] or 0
        return processed, elapsed, cpu, calls

    def _first(self, app: SandboxWcApp, flows: list[SyncFlow], records: int) -> None:
        played, ours, elapsed, cpu = self._session(app)
        self.stdout.write(f"First session:                  {ours.get_status_display()}")
        self.stdout.write(f"  Round trips:                  {ours.round_trips}")
        self.stdout.write(
            f"  Slowest SOAP answer:          {played.slowest_ms} ms ({played.slowest_call})"
        )
        self.stdout.write(
            f"  Slowest QuickBooks answer:    {ours.slowest_answer_ms} ms (the fake's own time)"
        )
        self.stdout.write(f"  Records read:                 {ours.records_received}")
        self.stdout.write(
            f"  Records per minute:           {ours.records_received / max(elapsed, 1e-9) * 60:.0f}"
            f" (wall {elapsed:.1f} s, CPU {cpu:.1f} s, the fakes included)"
        )
        self._engine_report(flows, records)

    def _again(self, app: SandboxWcApp, flows: list[SyncFlow], records: int, label: str) -> None:
        played, ours, elapsed, cpu = self._session(app)
        self.stdout.write(f"{label}:")
        self.stdout.write(
            f"  Session:                      {ours.get_status_display()}, "
            f"{ours.round_trips} round trips, {ours.records_received} records, "
            f"slowest SOAP answer {played.slowest_ms} ms, wall {elapsed:.1f} s, CPU {cpu:.1f} s"
        )
        self._engine_report(flows, records)

    def _engine_report(self, flows: list[SyncFlow], records: int) -> None:
        processed, elapsed, cpu, calls = self._engine(flows)
        self.stdout.write(
            f"  Engine:                       {processed} events in {elapsed:.1f} s "
            f"(CPU {cpu:.1f} s, the CRM fake included)"
        )
        self.stdout.write(
            f"  CRM calls:                    {calls} ({calls * 1000 / max(records, 1):.2f} per "
            f"1000 records in the company file)"
        )
