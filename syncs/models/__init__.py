"""The sync engine's records. Split by concern; import everything from `syncs.models`."""

from .flows import MATCH_KEYS, FieldMapping, RecordLink, SyncFlow, default_match_keys
from .inbox import ChangeEvent
from .runs import (
    OPEN_STATUSES,
    TRANSIENT_CATEGORIES,
    AuditEntry,
    ErrorCategory,
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
    "RecordLink",
    "SyncError",
    "SyncFlow",
    "SyncRun",
    "default_match_keys",
]
