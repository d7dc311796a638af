"""What one run of one flow works with, built once per run, and the rules every stage shares:
whether a flow may make calls now, which flow keeps a referenced record, how a record's
failure is kept."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from django.utils import timezone

from connectors.base.records import Record
from connectors.base.schema import TargetSchema
from connectors.models import Connection
from connectors.registry import adapter_for
from syncs.errors import Classification
from syncs.matching import MatchFields, TargetMatcher
from syncs.models import ErrorCategory, FieldMapping, RecordLink, SyncFlow, SyncRun
from syncs.records import RunCounts, run_finish
from syncs.references import Currency, LineItems, Reference, flow_line_items, flow_references
from syncs.services import sync_error_record

logger = logging.getLogger(__name__)

POLL_OVERLAP = timedelta(minutes=5)


USABLE = (Connection.Status.CONNECTED,)


class HistoryWaiting(Exception):
    """A historical sync needs records another flow keeps while that flow's own historical
    sync is running: it waits for it (and starts again when it is done) rather than write the
    same records from a second run at once."""

    def __init__(self, dependency: SyncFlow) -> None:
        super().__init__(
            f"Waiting for the historical sync of {dependency} (it keeps records this one "
            "refers to); this one goes on when that one is done."
        )
        self.dependency = dependency


@dataclass
class FlowContext:
    """Everything one run of one flow needs, built once per run."""

    flow: SyncFlow
    run: SyncRun
    source: Any
    target: Any
    schema: TargetSchema
    mappings: list[FieldMapping]
    matcher: TargetMatcher
    force: bool = False
    counts: RunCounts = field(default_factory=RunCounts)
    references: list[Reference] = field(default_factory=list)
    line_items: LineItems | None = None
    currency: Currency | None = None
    # (entity, target entity) -> {source id: target id}, for the references of this run.
    reference_targets: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Planned:
    """One source record's write, as planned: the mapped payload and its digest, the link it
    was planned against, the target record it writes (none: a new one)."""

    record: Record
    payload: dict[str, Any]
    digest: str
    link: RecordLink | None
    target_id: str
    # The linked target record found deleted: this one is written as new in its place.
    gone_id: str = ""
    # A sparse update of the linked record, not its whole mapped payload (the fields a flow
    # writes when the source record is deleted), with what its audit entry says.
    sparse: bool = False
    note: str = ""

    def recreated(self) -> Planned:
        return replace(self, target_id="", gone_id=self.target_id)


# Syncs a batch of source records through a flow: the engine's `records_sync`, handed to the
# stages that must sync other records first (dependencies, records created at the source).
Sync = Callable[[FlowContext, Sequence[Record]], None]


def flow_context(flow: SyncFlow, run: SyncRun, *, force: bool = False) -> FlowContext:
    source, target = adapter_for(flow.source), adapter_for(flow.target)
    schema = target.schema(flow.target_entity)
    mappings = list(flow.mappings.exclude(direction=FieldMapping.Direction.TO_SOURCE))
    matcher = TargetMatcher(flow, target, MatchFields.for_flow(flow, mappings, schema))
    return FlowContext(
        flow,
        run,
        source,
        target,
        schema,
        mappings,
        matcher,
        force=force,
        references=flow_references(flow),
        line_items=flow_line_items(flow),
        currency=Currency.for_flow(flow, target),
    )


def problem_classification(problems: list) -> Classification:
    first = problems[0]
    message = "; ".join(p.message for p in problems)
    return Classification(category=first.category, transient=False, message=message)


def record_error(
    ctx: FlowContext,
    record: Record,
    classification: Classification,
    payload: Any,
    target_id: str = "",
) -> None:
    sync_error_record(
        flow=ctx.flow,
        run=ctx.run,
        source_id=record.id,
        classification=classification,
        payload=payload,
        source_name=record.name,
        target_id=target_id,
    )
    ctx.counts += RunCounts(failed=1)


def flow_blocked(flow: SyncFlow) -> Classification | None:
    """Why a flow cannot make calls now: paused, or a connection needs reconnecting."""
    if flow.state == SyncFlow.State.PAUSED:
        when = (
            timezone.localtime(flow.paused_at).strftime("%Y-%m-%d %H:%M %Z")
            if flow.paused_at
            else "now"
        )
        return Classification(
            ErrorCategory.PAUSED, False, f"Sync is paused for this module as of {when}"
        )
    for connection in (flow.source, flow.target):
        if connection.status not in USABLE:
            message = f"{connection.name} is {connection.get_status_display().lower()}: reconnect it to resume."
            return Classification(ErrorCategory.AUTH, False, message)
    return None


def reference_flow(flow: SyncFlow, reference: Reference) -> SyncFlow | None:
    """The flow that keeps the referenced records, between the same two connections."""
    return (
        SyncFlow.objects.filter(
            source=flow.source,
            target=flow.target,
            source_entity=reference.entity,
            target_entity=reference.target_entity,
        )
        .exclude(state=SyncFlow.State.DISABLED)
        .select_related("source", "target")
        .first()
    )


def run_close(ctx: FlowContext, calls: Any, fatal: str = "") -> SyncRun:
    """Close a run with the counts and the API calls it made on each side."""
    run_finish(
        ctx.run,
        counts=ctx.counts,
        source_api_calls=calls[ctx.flow.source.system],
        target_api_calls=calls[ctx.flow.target.system],
        fatal=fatal,
    )
    return ctx.run


def flows_for(connection: Connection, entity: str) -> list[SyncFlow]:
    """The flows fed by changes to `entity` on `connection`, parents before children."""
    flows = SyncFlow.objects.filter(source=connection, source_entity=entity).exclude(
        state=SyncFlow.State.DISABLED
    )
    return sorted(
        flows.select_related("source", "target"),
        key=lambda f: (bool(f.options.get("parent")), f.pk),
    )
