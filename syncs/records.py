"""The rows a run leaves behind: the run itself, the links between records, the audit trail.

The engine records each record's outcome in one transaction (link + audit entry, or a sync
error), then moves the flow's cursor; these are the pieces it composes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from syncs import heartbeat
from syncs.mapping import payload_canonical
from syncs.models import AuditEntry, RecordLink, SyncFlow, SyncRun


class RunAlreadyRunning(Exception):
    """A scheduled poll or historical sync of this flow is already running."""


class LinkConflict(Exception):
    """The target record is already linked to another source record of this flow."""


@dataclass(frozen=True)
class RunCounts:
    read: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    failed: int = 0

    def __add__(self, other: RunCounts) -> RunCounts:
        return RunCounts(
            self.read + other.read,
            self.created + other.created,
            self.updated + other.updated,
            self.skipped + other.skipped,
            self.failed + other.failed,
        )

    @property
    def succeeded(self) -> int:
        return self.created + self.updated + self.skipped


def run_start(*, flow: SyncFlow, kind: str, triggered_by: str = "") -> SyncRun:
    """Open a run; it beats while this worker works on it (`syncs.heartbeat`). Raises
    RunAlreadyRunning for a second scheduled or historical run of one flow while the first
    is alive (the database refuses it, so two workers cannot both start one); a first one
    whose worker has died is marked dead and this one starts."""
    for _ in range(2):
        try:
            with transaction.atomic():
                run = SyncRun.objects.create(flow=flow, kind=kind, triggered_by=triggered_by[:150])
        except IntegrityError:
            if not runs_abandon_dead(flow=flow, kind=kind):
                break
            continue
        heartbeat.run_alive(run.pk)
        return run
    raise RunAlreadyRunning(f"A {kind} run of {flow} is already running.")


def runs_alive() -> QuerySet[SyncRun]:
    """Running runs whose worker still beats."""
    return SyncRun.objects.filter(
        status=SyncRun.Status.RUNNING, heartbeat_at__gte=timezone.now() - heartbeat.dead_after()
    )


def _run_status(counts: RunCounts, fatal: str) -> str:
    if fatal or (counts.failed and not counts.succeeded):
        return SyncRun.Status.FAILED
    return SyncRun.Status.PARTIAL if counts.failed else SyncRun.Status.SUCCEEDED


def run_finish(
    run: SyncRun,
    *,
    counts: RunCounts,
    source_api_calls: int = 0,
    target_api_calls: int = 0,
    fatal: str = "",
    error_summary: str = "",
) -> bool:
    """Close a running run with its counts. Its status follows from them: succeeded, partial
    (some records failed), failed (all failed, or `fatal` says why the run itself stopped).
    False if the run was no longer running (already finished, or abandoned)."""
    now = timezone.now()
    values = {
        "status": _run_status(counts, fatal),
        "finished_at": now,
        "duration": now - run.started_at,
        "read_count": counts.read,
        "created_count": counts.created,
        "updated_count": counts.updated,
        "skipped_count": counts.skipped,
        "failed_count": counts.failed,
        "source_api_calls": source_api_calls,
        "target_api_calls": target_api_calls,
        "error_summary": "\n".join(part for part in (fatal, error_summary) if part),
    }
    updated = SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(**values)
    heartbeat.run_gone(run.pk)
    if updated:
        run.refresh_from_db()
    return bool(updated)


def runs_abandon_dead(*, flow: SyncFlow | None = None, kind: str = "") -> int:
    """Mark dead the running runs whose worker stopped beating (killed, crashed, timed out), so
    their flow's next poll or historical sync can start; the work they held resumes by itself
    (a history from the position it had recorded, events when their lease lapses). Returns
    how many. `flow` and `kind` narrow it to one flow's runs of one kind."""
    now = timezone.now()
    dead = SyncRun.objects.filter(
        status=SyncRun.Status.RUNNING, heartbeat_at__lt=now - heartbeat.dead_after()
    )
    if flow is not None:
        dead = dead.filter(flow=flow)
    if kind:
        dead = dead.filter(kind=kind)
    marked = 0
    for run in dead.only("pk", "started_at", "heartbeat_at"):
        when = timezone.localtime(run.heartbeat_at).strftime("%H:%M:%S")
        marked += SyncRun.objects.filter(pk=run.pk, status=SyncRun.Status.RUNNING).update(
            status=SyncRun.Status.FAILED,
            finished_at=max(now, run.started_at),
            duration=max(now, run.started_at) - run.started_at,
            error_summary=(
                f"Stopped: its worker stopped answering (last heartbeat at {when}). "
                "The work it held resumes by itself."
            ),
        )
    return marked


def link_save(
    *,
    flow: SyncFlow,
    source_id: str,
    target_id: str,
    source_version: str | None = None,
    target_version: str | None = None,
    source_hash: str | None = None,
    target_hash: str | None = None,
    target_payload: dict[str, Any] | None = None,
    synced_at: datetime | None = None,
) -> RecordLink:
    """Create or update the link of `source_id`. A None leaves that field as it was. Raises
    LinkConflict when `target_id` is already linked to another source record."""
    given = {
        "target_id": target_id,
        "source_version": source_version,
        "target_version": target_version,
        "source_hash": source_hash,
        "target_hash": target_hash,
        "target_payload": target_payload,
    }
    values: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    values["last_synced_at"] = synced_at or timezone.now()
    for _ in range(2):
        try:
            with transaction.atomic():
                link, _ = RecordLink.objects.update_or_create(
                    flow=flow, source_id=source_id, defaults=values
                )
            return link
        except IntegrityError:
            # Another worker linked this source record a moment ago: update theirs. Only a
            # target already linked to another source record is a conflict.
            if RecordLink.objects.filter(flow=flow, source_id=source_id).exists():
                continue
            break
    other = RecordLink.objects.filter(flow=flow, target_id=target_id).first()
    raise LinkConflict(
        f"{target_id} is already linked to {other.source_id if other else 'another record'} "
        f"in {flow}."
    )


def _flatten(payload: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in payload.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            flat.update(_flatten(value, f"{path}."))
        else:
            flat[path] = value
    return flat


def fields_changed(
    before: Mapping[str, Any] | None, after: Mapping[str, Any]
) -> dict[str, dict[str, Any]]:
    """`{field: {"before": x, "after": y}}` for each field of `after` whose value differs from
    `before` (nested payloads by dotted path). Values are stored in JSON form."""
    old, new = _flatten(before or {}), _flatten(after)
    changed = {}
    for name in sorted(new):
        was, now = payload_canonical(old.get(name)), payload_canonical(new[name])
        if was != now:
            changed[name] = {"before": was, "after": now}
    return changed


def audit_record(
    *,
    flow: SyncFlow,
    run: SyncRun | None,
    action: str,
    source_id: str,
    target_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    link: RecordLink | None = None,
    note: str = "",
    towards: str = AuditEntry.Towards.TARGET,
) -> AuditEntry:
    """Add an audit entry; the changed fields are worked out from `before` and `after`."""
    entry = audit_entry(
        flow=flow,
        run=run,
        action=action,
        source_id=source_id,
        target_id=target_id,
        before=before,
        after=after,
        link=link,
        note=note,
        towards=towards,
    )
    entry.save(force_insert=True)
    return entry


def audit_entry(
    *,
    flow: SyncFlow,
    run: SyncRun | None,
    action: str,
    source_id: str,
    target_id: str,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    link: RecordLink | None = None,
    note: str = "",
    towards: str = AuditEntry.Towards.TARGET,
) -> AuditEntry:
    """An audit entry not yet saved (for a page's entries saved at once)."""
    return AuditEntry(
        flow=flow,
        run=run,
        link=link,
        source_id=source_id,
        target_id=target_id,
        action=action,
        towards=towards,
        changed_fields=fields_changed(before, after or {}),
        note=note,
    )
