"""The fakes the console shows, by the system slug in its URLs (`qbo`, `crm`, `books`)."""

from __future__ import annotations

from django.http import Http404

from connectors.sandbox.console.qbo import QboSource
from connectors.sandbox.console.records import RecordSource
from connectors.sandbox.console.zoho import BooksSource, CrmSource

SOURCES: dict[str, RecordSource] = {
    source.slug: source for source in (QboSource(), CrmSource(), BooksSource())
}


def source_for(slug: str) -> RecordSource:
    """The fake behind a URL's system slug; 404 for anything else."""
    try:
        return SOURCES[slug]
    except KeyError:
        raise Http404(f"No sandbox system {slug!r}") from None
