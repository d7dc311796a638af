"""The one place that builds a requests session (filled in by the foundation work)."""

from __future__ import annotations

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter


class _TimeoutSession(requests.Session):
    """A session whose every request has a timeout unless the caller gives one."""

    def request(self, method, url, **kwargs):  # type: ignore[override]
        kwargs.setdefault("timeout", settings.HTTP_TIMEOUT)
        return super().request(method, url, **kwargs)


def build_session() -> requests.Session:
    session = _TimeoutSession()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.headers["User-Agent"] = "ml-connector/0.1"
    return session
