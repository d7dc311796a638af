"""The sync pipeline: detect -> claim -> fetch -> map -> match -> write -> record.

Generic over adapters (`connectors.base.adapter.Adapter`): a flow names a source and a target
connection and entity; the engine reads changed records from one, maps them with the flow's
`FieldMapping` rows, finds or creates their counterparts on the other, and records a page's
outcomes in one transaction (links + audit entries, or sync errors). A crash anywhere repeats
work and never loses or duplicates it: events stay in the inbox until completed, the cursor
moves only after its batch is recorded, every write is an outbox row under an idempotency key
first, and creates are upserts keyed on the source id, so a repeated write finds the record its
first attempt made.

This module is the pipeline for a batch of records, each stage a module of its own, in order:
`syncs.dependencies` (referenced records first), `syncs.plan` (map and match),
`syncs.twoway` (the merge, on a two-way flow), `syncs.write` (through `syncs.outbox`, which
records). `syncs.live` feeds it from the inbox and `syncs.runs` from polls, backfills,
force-syncs and retries.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from connectors.base.records import Record
from syncs import heartbeat
from syncs.context import (
    POLL_OVERLAP,
    USABLE,
    FlowContext,
    HistoryWaiting,
    Planned,
    flow_blocked,
    flow_context,
    flows_for,
    run_close,
)
from syncs.dependencies import flow_dependencies, references_prepare
from syncs.models import AuditEntry
from syncs.outbox import outbox_done
from syncs.plan import payload_for, records_plan
from syncs.records import RunCounts, audit_record
from syncs.twoway import pairs_sync
from syncs.write import gone_recreate, outcomes_keep, writes_send

__all__ = [
    "POLL_OVERLAP",
    "USABLE",
    "FlowContext",
    "HistoryWaiting",
    "Planned",
    "flow_blocked",
    "flow_context",
    "flow_dependencies",
    "flows_for",
    "payload_for",
    "records_sync",
    "run_close",
]


def records_sync(ctx: FlowContext, records: Sequence[Record]) -> None:
    """Map, match, write and record one batch of source records for one flow; the outcome is
    counted on `ctx.counts`."""
    heartbeat.beat()
    references_prepare(ctx, records, sync=records_sync)
    ctx.counts += RunCounts(read=len(records))
    planned = records_plan(ctx, records)
    if planned and ctx.flow.dry_run:
        for item in planned:
            audit_record(
                flow=ctx.flow,
                run=ctx.run,
                action=AuditEntry.Action.SKIP,
                source_id=item.record.id,
                target_id=item.target_id,
                before=item.link.target_payload if item.link else None,
                after=item.payload,
                note="Dry run: this is what would be written.",
            )
        ctx.counts += RunCounts(skipped=len(planned))
    elif planned:
        if ctx.flow.is_two_way:
            # A linked record may have changed on the target too: merged field by field.
            merged = [p for p in planned if p.link is not None and not p.sparse]
            gone = pairs_sync(ctx, merged)
            planned = [p for p in planned if p.link is None or p.sparse]
            planned += [p.recreated() for p in gone]
            if not planned:
                return
        rows, outcomes = writes_send(ctx, planned)
        rows, outcomes, replaced = gone_recreate(ctx, planned, rows, outcomes)
        # The page is recorded in one transaction, with its outbox rows marked answered: the
        # successes in bulk, each failure as its own error. A crash before the commit repeats
        # the batch under the same idempotency keys. A pushed target's writes wait in the
        # outbox for its answer (`syncs.outbox.outbox_answer`).
        answered = [
            (item, row, o)
            for item, row, o in zip(planned, rows, outcomes, strict=True)
            if not o.pending
        ]
        with transaction.atomic():
            outcomes_keep(ctx, answered)
            done = [*((row, o) for _, row, o in answered), *replaced]
            outbox_done([row for row, _ in done], [outcome for _, outcome in done])
