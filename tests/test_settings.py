"""Settings come from the environment; production refuses to start without its secrets."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

from django.test import override_settings
from django.urls import Resolver404, clear_url_caches, resolve

ROOT = Path(__file__).resolve().parent.parent


def _django_check(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG"}
    }
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd="/",  # away from any development .env beside manage.py
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "mlconnector.settings",
            "PYTHONPATH": str(ROOT),
            "ENV_FILE": "/nonexistent/.env",  # never a developer's .env
            **env,
        },
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_refuses_to_start_without_its_secrets():
    result = _django_check(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY, FIELD_ENCRYPTION_KEY must be set when DEBUG is off" in result.stderr


def test_production_refuses_a_field_key_equal_to_the_secret_key():
    result = _django_check(
        DEBUG="false",
        SECRET_KEY="same-value-1234567890",
        FIELD_ENCRYPTION_KEY="same-value-1234567890",
    )
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must differ from SECRET_KEY" in result.stderr


def test_a_migrations_check_needs_no_secrets(tmp_path):
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DEBUG", "DATABASE_URL"}
    }
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "makemigrations", "--check", "--dry-run"],
        cwd=tmp_path,
        env={
            **clean,
            "DEBUG": "false",
            "ENV_FILE": "/nonexistent/.env",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'scratch.sqlite3'}",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_production_starts_with_its_secrets():
    result = _django_check(DEBUG="false", SECRET_KEY="k" * 50, FIELD_ENCRYPTION_KEY="f" * 50)
    assert result.returncode == 0, result.stderr


def _resolves(path: str, *, enabled: bool) -> bool:
    import mlconnector.urls

    with override_settings(SANDBOX_ENABLED=enabled):
        clear_url_caches()
        importlib.reload(mlconnector.urls)
        try:
            resolve(path, urlconf=mlconnector.urls)
        except Resolver404:
            return False
        return True


def test_sandbox_is_mounted_only_when_enabled():
    import mlconnector.urls

    try:
        assert _resolves("/sandbox/qbo/connect/oauth2", enabled=True)
        assert not _resolves("/sandbox/qbo/connect/oauth2", enabled=False)
        assert _resolves("/admin/", enabled=False)
    finally:
        clear_url_caches()
        importlib.reload(mlconnector.urls)


PRODUCT_WITHOUT_SANDBOX = """
import django
django.setup()
from django.apps import apps
from django.core.management import get_commands
from django.db import connection
from django.test import Client as TestClient
Client = lambda: TestClient(HTTP_HOST="127.0.0.1")
tables = connection.introspection.table_names()
print("tables", len(tables), sorted(t for t in tables if t.startswith("sandbox")))
print("apps", sorted(a.label for a in apps.get_app_configs() if a.label.startswith("sandbox")))
print("commands", sorted(c for c in ("seed_demo", "benchmark_sync") if c in get_commands()))
print("status", Client().get("/sandbox/").status_code, Client().get("/sandbox/qbo/connect/oauth2").status_code)
print("admin", Client().get("/admin/login/").status_code)
"""


def test_without_the_sandbox_it_has_no_tables_no_pages_and_no_commands(tmp_path):
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SANDBOX_ENABLED"}}
    env = {
        **clean,
        "DEBUG": "true",
        "SANDBOX_ENABLED": "false",
        "ENV_FILE": "/nonexistent/.env",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'product.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "mlconnector.settings",
        "PYTHONPATH": str(ROOT),
    }
    run = {"cwd": tmp_path, "env": env, "capture_output": True, "text": True, "check": False}
    migrated = subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v0"], **run)
    assert migrated.returncode == 0, migrated.stderr
    result = subprocess.run([sys.executable, "-c", PRODUCT_WITHOUT_SANDBOX], **run)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    count, sandbox_tables = lines["tables"].split(" ", 1)
    assert int(count) > 10, "the product's own tables are there"
    assert sandbox_tables == "[]"
    assert lines["apps"] == "[]"
    assert lines["commands"] == "[]"
    assert lines["status"] == "404 404"
    assert lines["admin"] == "200"
