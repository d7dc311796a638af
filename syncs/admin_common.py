"""Pieces the sync admin pages share: status colours, badges, JSON display, read-only pages."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from syncs.models import TRANSIENT_CATEGORIES, ErrorCategory

GREEN, AMBER, RED, BLUE, GREY, PURPLE = (
    "#2e7d32",
    "#b26a00",
    "#c62828",
    "#1565c0",
    "#616161",
    "#6a1b9a",
)

FLOW_STATE_COLOURS = {"active": GREEN, "paused": AMBER, "disabled": GREY}
ERROR_STATUS_COLOURS = {"open": RED, "retrying": AMBER, "resolved": GREEN, "ignored": GREY}
RUN_STATUS_COLOURS = {"running": BLUE, "succeeded": GREEN, "partial": AMBER, "failed": RED}
CHANNEL_STATUS_COLOURS = {"active": GREEN, "expired": AMBER, "failed": RED, "disabled": GREY}
EVENT_STATUS_COLOURS = {
    "pending": BLUE,
    "processing": AMBER,
    "done": GREEN,
    "failed": RED,
    "skipped": GREY,
}


def badge(label: str, colour: str) -> SafeString:
    return format_html(
        '<span style="background:{};color:#fff;padding:1px 8px;border-radius:9px;'
        'white-space:nowrap">{}</span>',
        colour,
        label,
    )


def category_colour(category: str) -> str:
    """Red: someone must act on the connection; amber: clears by itself; grey: waiting on
    the flow; purple: the record's data needs fixing."""
    if category in (ErrorCategory.AUTH, ErrorCategory.MODULE_UNAVAILABLE):
        return RED
    if category in TRANSIENT_CATEGORIES:
        return AMBER
    if category in (ErrorCategory.PAUSED, ErrorCategory.UNKNOWN):
        return GREY
    return PURPLE


def pretty_json(value: Any) -> SafeString:
    text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>', text)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History written by the engine: looked at, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
