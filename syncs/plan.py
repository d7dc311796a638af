"""Map and match: what each source record becomes at the target (its mapped payload with its
lookups, lines and currency) and which target record it goes to; the records that need
nothing, or cannot be written, stop here with what happened to them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils import timezone

from connectors.base.records import RELATED, Record
from syncs.context import (
    FlowContext,
    Planned,
    problem_classification,
    record_error,
    reference_flow,
)
from syncs.errors import Classification
from syncs.mapping import mapping_apply, payload_hash
from syncs.models import ErrorCategory, RecordLink
from syncs.records import RunCounts
from syncs.references import (
    Reference,
    currency_as_home,
    currency_check,
    currency_convert,
    lines_map,
    missing_message,
    related_ids,
)
from syncs.services import sync_error_resolve


def _references_apply(ctx: FlowContext, record: Record, payload: dict[str, Any]) -> bool:
    """Point the record's lookups (an invoice's Account, a contact's Account) at the linked
    target records; a record whose required reference is not linked gets an error."""
    for reference in ctx.references:
        value = reference.value(record.data)
        if not value:
            continue
        target_id = ctx.reference_targets.get(reference.key, {}).get(value)
        if target_id:
            payload[reference.lookup_field] = ctx.schema.references.write(target_id)
        elif not reference.optional:
            _missing(ctx, record, payload, reference, [reference.name(record.data)])
            return False
    return True


def _lines_apply(ctx: FlowContext, record: Record, payload: dict[str, Any]) -> bool:
    """The record's lines, into the subform the target's metadata names; or, for a flow that
    relates the lines' products through a related list (a Deal's Products), their ids."""
    spec = ctx.line_items
    if spec is None:
        return True
    targets = ctx.reference_targets.get(spec.reference.key, {})
    if spec.related_list:
        ids, missing = related_ids(spec, record.data, targets=targets)
        if missing:
            _missing(ctx, record, payload, spec.reference, missing)
            return False
        payload[f"{RELATED}{spec.related_list}"] = ids
        return True
    if not ctx.schema.line_items:
        message = f"{ctx.schema.label} has no line-item subform to write the lines into."
        record_error(
            ctx, record, Classification(ErrorCategory.INVALID_VALUE, False, message), payload
        )
        return False
    mapped = lines_map(
        spec,
        record.data,
        schema=ctx.schema,
        targets=targets,
    )
    if mapped.missing:
        _missing(ctx, record, payload, spec.reference, mapped.missing)
        return False
    if mapped.problems:
        record_error(ctx, record, problem_classification(mapped.problems), payload)
        return False
    payload[ctx.schema.line_items] = mapped.lines
    return True


def _missing(
    ctx: FlowContext, record: Record, payload: Any, reference: Reference, names: list[str]
) -> None:
    target = ctx.flow.target.get_system_display()
    message = " ".join(
        missing_message(
            reference, name, entity=ctx.flow.source_entity, record_name=record.name, target=target
        )
        for name in dict.fromkeys(names)
    )
    if reference_flow(ctx.flow, reference) is None:
        message += (
            f" No flow keeps {ctx.flow.source.get_system_display()} {reference.entity} -> "
            f"{target} {reference.target_entity} for these connections: add one."
        )
    record_error(
        ctx, record, Classification(ErrorCategory.MISSING_DEPENDENCY, False, message), payload
    )


def _currency_check(ctx: FlowContext, record: Record) -> tuple[bool, dict[str, Any], Any]:
    """(whether the record can be written in its currency, the data to map, the rate to
    convert its amounts with or None)."""
    if ctx.currency is None:
        return True, record.data, None
    problem, rate = currency_check(
        ctx.currency,
        record.data,
        convert=bool(ctx.flow.options.get("convert_currency")),
        system=ctx.flow.target.get_system_display(),
    )
    if problem is not None:
        record_error(ctx, record, problem_classification([problem]), None)
        return False, record.data, None
    data = currency_as_home(ctx.currency, record.data) if rate is not None else record.data
    return True, data, rate


def payload_for(ctx: FlowContext, record: Record) -> tuple[dict[str, Any], str] | None:
    """The payload a source record maps to, with its lookups and lines, and its hash (the sync
    time left out); None when it cannot be written, its error recorded."""
    writable, data, rate = _currency_check(ctx, record)
    if not writable:
        return None
    mapped = mapping_apply(ctx.mappings, data, target_schema=ctx.schema)
    payload = dict(mapped.payload)
    if mapped.problems:
        record_error(ctx, record, problem_classification(mapped.problems), payload)
        return None
    if not (_references_apply(ctx, record, payload) and _lines_apply(ctx, record, payload)):
        return None
    if rate is not None:
        currency_convert(payload, ctx.schema, rate)
    return payload, payload_hash(payload, exclude=mapped.volatile)


def records_plan(ctx: FlowContext, records: Sequence[Record]) -> list[Planned]:
    links = {
        link.source_id: link
        for link in RecordLink.objects.filter(flow=ctx.flow, source_id__in=[r.id for r in records])
    }
    ctx.matcher.prepare(sum(1 for r in records if r.id not in links))
    planned: list[Planned] = []
    for record in records:
        if record.deleted:
            gone = _deleted_plan(ctx, record, links.get(record.id))
            if gone is None:
                ctx.counts += RunCounts(skipped=1)
            else:
                planned.append(gone)
            continue
        mapped = payload_for(ctx, record)
        if mapped is None:
            continue
        payload, digest = mapped
        link = links.get(record.id)
        if (
            link is not None
            and link.target_deleted_at
            and ctx.flow.options.get("on_target_deleted")
        ):
            # Deleted at the target on purpose (and the source told so): not written again.
            ctx.counts += RunCounts(skipped=1)
            continue
        if link is not None and link.target_hash == digest and not ctx.force:
            # What we would write is what we last wrote: a no-op, or our own echo.
            sync_error_resolve(ctx.flow, record.id)
            ctx.counts += RunCounts(skipped=1)
            continue
        target_id = link.target_id if link else ctx.matcher.match(record.id, payload)
        planned.append(Planned(record, payload, digest, link, target_id))
    return planned


def _deleted_plan(ctx: FlowContext, record: Record, link: RecordLink | None) -> Planned | None:
    """A source record deleted there (a system that reports deletions with its records):
    the link says so, and the linked target record gets the fields the flow's
    `on_source_deleted` option names (an Account made inactive, a Deal closed lost); the
    target record itself is kept. None when there is nothing to write."""
    if link is None:
        return None
    if link.source_deleted_at is None:
        RecordLink.objects.filter(pk=link.pk).update(source_deleted_at=timezone.now())
    changes = dict(ctx.flow.options.get("on_source_deleted") or {})
    agreed = link.target_payload or {}
    if not changes or all(agreed.get(name) == value for name, value in changes.items()):
        return None
    note = (
        f"Deleted in {ctx.flow.source.get_system_display()}: "
        + ", ".join(f"{name} set to {value!r}" for name, value in changes.items())
        + " on the linked record, which is kept."
    )
    digest = payload_hash({**agreed, **changes})
    return Planned(record, changes, digest, link, link.target_id, sparse=True, note=note)
