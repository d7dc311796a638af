"""Measure an initial sync of N customers from the sandbox QBO into the sandbox CRM.

Everything real but the vendors: the fakes answer over HTTP on a local server this command
starts, the product connects through OAuth, and the engine runs the historical sync of the
default Customer -> Accounts and Customer -> Contacts flows. Prints records per second, API
calls per 1000 records on each side, peak memory, and CPU time split in two: the engine's own
(the thread that runs the sync: mapping, matching, recording, its side of every HTTP call) and
the fakes' (the server threads answering it). CPU time holds steady on a shared machine where
wall time does not. Run it with the sandbox on:

    SANDBOX_ENABLED=true python manage.py benchmark_sync --customers 2000

`--trace-memory` adds the peak of Python allocations (tracemalloc slows everything, so the CPU
figures of such a run are not comparable).
"""

from __future__ import annotations

import resource
import time
import tracemalloc
import uuid
from datetime import date

from django.core.management.base import BaseCommand
from django.db import transaction

from connectors.models import Connection
from connectors.sandbox.connect import sandbox_connection_create
from connectors.sandbox.models import FaultProfile, Vendor
from connectors.sandbox.qbo import services as qbo_sandbox
from connectors.sandbox.serving import serve_locally
from connectors.sandbox.zoho import services as zoho_sandbox
from syncs.models import SyncFlow, SyncRun
from syncs.runs import flow_history_run
from syncs.services import flow_create_with_defaults, flow_history_start


def _customer(n: int, tag: str) -> dict:
    return {
        "DisplayName": f"Bench {tag} {n:05d}",
        "CompanyName": f"Bench {tag} {n:05d} Ltd",
        "GivenName": f"Given{n}",
        "FamilyName": f"Family{n}",
        "PrimaryEmailAddr": {"Address": f"bench-{tag}-{n}@example.com"},
        "PrimaryPhone": {"FreeFormNumber": f"(555) {n // 10000:03d}-{n % 10000:04d}"},
        "BillAddr": {
            "Line1": f"{n} Main St",
            "City": "Springfield",
            "CountrySubDivisionCode": "IL",
            "PostalCode": "62701",
            "Country": "USA",
        },
    }


class Command(BaseCommand):
    help = "Benchmark an initial QBO -> Zoho CRM sync of N customers against the sandbox."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--customers", type=int, default=2000)
        parser.add_argument("--trace-memory", action="store_true")

    def handle(self, *args, customers: int, trace_memory: bool, **options) -> None:
        server, base_url = serve_locally()
        tag = uuid.uuid4().hex[:6]
        try:
            flows = self._prepare(base_url, customers, tag)
            self._measure(flows, customers, trace_memory=trace_memory)
        finally:
            server.shutdown()

    def _prepare(self, base_url: str, customers: int, tag: str) -> list[SyncFlow]:
        started = time.monotonic()
        company = qbo_sandbox.company_create(name=f"Benchmark {tag}")
        profile = FaultProfile.for_vendor(Vendor.QBO)
        webhooks, profile.webhooks_enabled = profile.webhooks_enabled, False
        profile.save(update_fields=["webhooks_enabled"])
        try:
            with transaction.atomic():
                for n in range(customers):
                    qbo_sandbox.record_create(
                        company=company, entity="Customer", data=_customer(n, tag)
                    )
        finally:
            FaultProfile.objects.filter(pk=profile.pk).update(webhooks_enabled=webhooks)
        org = zoho_sandbox.crm_org_create(name=f"Benchmark CRM {tag}")
        qbo = sandbox_connection_create(
            system=Connection.System.QBO,
            name=f"Benchmark QBO {tag}",
            base_url=base_url,
            realm_id=company.realm_id,
        )
        crm = sandbox_connection_create(
            system=Connection.System.ZOHO_CRM,
            name=f"Benchmark CRM {tag}",
            base_url=base_url,
            org_id=org.org_id,
        )
        flows = [
            flow_create_with_defaults(
                name=f"Benchmark {tag} {target}",
                source=qbo,
                target=crm,
                source_entity="Customer",
                target_entity=target,
            )
            for target in ("Accounts", "Contacts")
        ]
        self.stdout.write(
            f"Prepared {customers} customers in the sandbox QBO in {time.monotonic() - started:.1f} s."
        )
        return flows

    def _measure(self, flows: list[SyncFlow], customers: int, *, trace_memory: bool) -> None:
        if trace_memory:
            tracemalloc.start()
        started = time.monotonic()
        engine_started, process_started = time.thread_time(), time.process_time()
        runs: list[SyncRun] = []
        for flow in flows:  # the accounts first: contacts point at them
            flow_history_start(flow, since=date(2000, 1, 1))
            run = flow_history_run(flow, triggered_by="benchmark")
            assert run is not None  # None only while a flow it depends on runs: they run in turn
            runs.append(run)
        engine_cpu = time.thread_time() - engine_started
        process_cpu = time.process_time() - process_started
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1] if trace_memory else None
        tracemalloc.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        for run in runs:
            run.refresh_from_db()
        written = sum(run.created_count + run.updated_count for run in runs)
        failed = sum(run.failed_count for run in runs)
        source_calls = sum(run.source_api_calls for run in runs)
        target_calls = sum(run.target_api_calls for run in runs)
        per_thousand = 1000 / max(customers, 1)
        self.stdout.write(f"Customers:                     {customers}")
        self.stdout.write(f"CRM records written:           {written} (failed: {failed})")
        records = max(written + failed, 1)
        self.stdout.write(f"Wall time:                     {elapsed:.1f} s")
        self.stdout.write(f"Customers per second (wall):   {customers / elapsed:.1f}")
        self.stdout.write(f"Engine CPU:                    {engine_cpu:.2f} s")
        self.stdout.write(f"Fakes' CPU:                    {process_cpu - engine_cpu:.2f} s")
        self.stdout.write(
            f"Engine CPU per record:         {engine_cpu * 1000 / records:.2f} ms "
            f"({records / max(engine_cpu, 1e-9):.0f} records a second per core)"
        )
        self.stdout.write(f"QBO calls per 1000 customers:  {source_calls * per_thousand:.1f}")
        self.stdout.write(f"CRM calls per 1000 customers:  {target_calls * per_thousand:.1f}")
        if peak is not None:
            self.stdout.write(f"Peak Python memory (sync):     {peak / 2**20:.1f} MiB")
        self.stdout.write(f"Peak process RSS:              {rss_mb:.1f} MiB")
        for run in runs:
            self.stdout.write(
                f"  {run.flow}: {run.get_status_display()}, created {run.created_count}, "
                f"updated {run.updated_count}, failed {run.failed_count}, QBO calls {run.source_api_calls}, "
                f"CRM calls {run.target_api_calls}, {run.duration}"
            )
