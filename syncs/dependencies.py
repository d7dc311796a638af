"""Dependencies first: the records a batch refers to (an invoice's customer and products, a
contact's account) are synced through their own flows before the batch, in the same run."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from connectors.base.exceptions import ConnectorError, RateLimited
from connectors.base.http import count_calls
from connectors.base.records import Record
from syncs.context import (
    FlowContext,
    HistoryWaiting,
    Sync,
    flow_blocked,
    flow_context,
    reference_flow,
    run_close,
)
from syncs.models import RecordLink, SyncFlow, SyncRun
from syncs.records import RunCounts, run_finish, run_start
from syncs.references import Reference, flow_line_items, flow_references, references_wanted


def _linked(flow: SyncFlow, ids: Iterable[str]) -> dict[str, str]:
    return dict(
        RecordLink.objects.filter(flow=flow, source_id__in=list(ids)).values_list(
            "source_id", "target_id"
        )
    )


def references_prepare(ctx: FlowContext, records: Sequence[Record], *, sync: Sync) -> None:
    """Records a batch refers to (an invoice's customer and products, a contact's account) must
    be on the target first: those not linked yet go through their own flow now, in the same
    run, and the links found are kept on the context for the lookups. A historical sync whose
    dependency is in a historical sync of its own waits for it (`HistoryWaiting`)."""
    wanted: dict[Reference, dict[str, None]] = {}
    for reference, value in references_wanted(ctx.references, ctx.line_items, records):
        wanted.setdefault(reference, {})[value] = None
    for reference, ids in wanted.items():
        flow = reference_flow(ctx.flow, reference)
        if flow is None:
            continue
        linked = _linked(flow, ids)
        missing = [i for i in ids if i not in linked]
        if missing and flow_blocked(flow) is None:
            if ctx.run.kind == SyncRun.Kind.HISTORICAL and flow.pk != ctx.flow.pk:
                flow.refresh_from_db(fields=["history_state"])
                if flow.history_state == SyncFlow.HistoryState.RUNNING:
                    raise HistoryWaiting(flow)
            _dependency_sync(ctx, flow, missing, records, sync)
            linked = _linked(flow, ids)
        ctx.reference_targets.setdefault(reference.key, {}).update(linked)


def flow_dependencies(flow: SyncFlow) -> list[SyncFlow]:
    """The flows that keep the records `flow`'s records refer to (its lookups and line
    items' products), between the same connections; the flow itself left out."""
    line_items = flow_line_items(flow)
    references = [*flow_references(flow), *([line_items.reference] if line_items else [])]
    found = {}
    for reference in references:
        dependency = reference_flow(flow, reference)
        if dependency is not None and dependency.pk != flow.pk:
            found[dependency.pk] = dependency
    return list(found.values())


def _dependency_sync(
    ctx: FlowContext, flow: SyncFlow, ids: list[str], records: Sequence[Record], sync: Sync
) -> None:
    """Sync `ids` through `flow` in a run of its own. A failure is that run's; the records that
    needed them then get missing_dependency errors naming what is missing. A rate limit is no
    one's failure: it goes up to the caller, whose work waits as a whole."""
    run = run_start(
        flow=flow, kind=SyncRun.Kind.DEPENDENCY, triggered_by=f"dependency of {ctx.flow}"
    )
    with count_calls() as calls:
        dependency_ctx = None
        try:
            dependency_ctx = flow_context(flow, run)
            if flow.source_entity == ctx.flow.source_entity:
                found = [r for r in records if r.id in set(ids)]
            else:
                found = ctx.source.fetch(flow.source_entity, ids)
            sync(dependency_ctx, found)
        except ConnectorError as exc:
            if dependency_ctx is None:
                run_finish(run, counts=RunCounts(), fatal=str(exc))
            else:
                run_close(dependency_ctx, calls, fatal=str(exc))
            if isinstance(exc, RateLimited):
                raise
            return
        except Exception as exc:
            run_finish(run, counts=RunCounts(), fatal=f"{type(exc).__name__}: {exc}")
            raise
    run_close(dependency_ctx, calls)
