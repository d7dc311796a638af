"""Verification of Zoho Books webhook deliveries.

Zoho signs with HMAC-SHA256 keyed by the webhook's secret, in `X-Zoho-Webhook-Signature`. What
is signed follows Zoho's Finance-suite scheme: the request's query parameters sorted by name,
each as name + value, then the raw body. Zoho does not say whether the digest is hex or base64,
so both are accepted.
Reference: https://www.zoho.com/books/api/v3/webhooks/
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping


def signed_message(body: bytes, query: Mapping[str, str] | None = None) -> bytes:
    prefix = "".join(f"{key}{value}" for key, value in sorted((query or {}).items()))
    return prefix.encode() + body


def signature_valid(
    body: bytes, signature: str, secret: str, query: Mapping[str, str] | None = None
) -> bool:
    if not (signature and secret):
        return False
    digest = hmac.new(secret.encode(), signed_message(body, query), hashlib.sha256).digest()
    given = signature.strip()
    return hmac.compare_digest(digest.hex(), given.lower()) or hmac.compare_digest(
        base64.b64encode(digest).decode(), given
    )
