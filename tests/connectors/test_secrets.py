"""Secrets are encrypted at rest: the database never holds them readable."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from django.db import connection as db

from connectors.models import Connection
from tests.factories import connected, connection_create

SECRETS = {
    "client_secret": "client-secret-PLAINTEXT-1111",
    "webhook_secret": "verifier-token-PLAINTEXT-2222",
    "access_token": "access-token-PLAINTEXT-3333",
    "refresh_token": "refresh-token-PLAINTEXT-4444",
}


def _database_bytes() -> bytes:
    """Everything the database holds for the connections table, as stored."""
    if db.vendor == "sqlite":
        with db.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(FULL)")
        path = Path(db.settings_dict["NAME"])
        wal = Path(f"{path}-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    with db.cursor() as cursor:
        cursor.execute("SELECT t::text FROM connectors_connection t")
        return "\n".join(row[0] for row in cursor.fetchall()).encode()


@pytest.mark.django_db(transaction=True)
def test_tokens_and_secrets_are_not_in_the_database_bytes():
    connection = connected(
        connection_create(), **{k: v for k, v in SECRETS.items() if k != "client_secret"}
    )
    Connection.objects.filter(pk=connection.pk).update()  # no-op; the row is committed above
    connection.client_secret = SECRETS["client_secret"]
    connection.save()

    stored = _database_bytes()

    assert connection.realm_id.encode() in stored  # the row really is in what we read
    for name, value in SECRETS.items():
        assert value.encode() not in stored, f"{name} is readable in the database"
        assert value.encode().hex().encode() not in stored, f"{name} is stored hex-encoded"
    fresh = Connection.objects.get(pk=connection.pk)
    assert {name: getattr(fresh, name) for name in SECRETS} == SECRETS


def _derived(key: str) -> bytes:
    """django-cryptography's key derivation, to see which setting the field key came from."""
    kdf = PBKDF2HMAC(
        algorithm=hashes.SHA256(), length=32, salt=b"django-cryptography", iterations=30000
    )
    return kdf.derive(key.encode())


def test_the_field_key_comes_from_field_encryption_key_not_secret_key(settings):
    assert settings.FIELD_ENCRYPTION_KEY != settings.SECRET_KEY
    assert _derived(settings.FIELD_ENCRYPTION_KEY) == settings.CRYPTOGRAPHY_KEY
    assert _derived(settings.SECRET_KEY) != settings.CRYPTOGRAPHY_KEY
