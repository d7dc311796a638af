"""The sync engine's records. Split by concern; import everything from `syncs.models`."""

from connectors.base.errors import TRANSIENT_CATEGORIES, ErrorCategory

from .flows import MATCH_KEYS, FieldMapping, RecordLink, SyncFlow, default_match_keys
from .inbox import ChangeEvent
from .outbox import OutboxWrite
from .runs import (
    OPEN_STATUSES,
    AuditEntry,
    SyncError,
    SyncRun,
)

__all__ = [
    "MATCH_KEYS",
    "OPEN_STATUSES",
    "TRANSIENT_CATEGORIES",
    "AuditEntry",
    "ChangeEvent",
    "ErrorCategory",
    "FieldMapping",
    "OutboxWrite",
    "RecordLink",
    "SyncError",
    "SyncFlow",
    "SyncRun",
    "default_match_keys",
]
