"""The product, with the sandbox mounted, served from a background thread of this process on a
free local port: what the benchmark commands measure against."""

from __future__ import annotations

import importlib
import threading

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.urls import clear_url_caches


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


def serve_locally() -> tuple[ThreadedWSGIServer, str]:
    """The product, with the sandbox mounted, on a free local port in a background thread."""
    settings.SANDBOX_ENABLED = True
    clear_url_caches()
    importlib.reload(importlib.import_module(settings.ROOT_URLCONF))
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler)
    server.set_app(WSGIHandler())
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PUBLIC_BASE_URL = base_url
    return server, base_url
