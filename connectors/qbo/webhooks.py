"""Verification of QuickBooks Online webhook deliveries.

Reference: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def signature_valid(body: bytes, signature: str, verifier_token: str) -> bool:
    """`intuit-signature` is base64(HMAC-SHA256(verifier token, raw body)); compared in constant time."""
    if not (signature and verifier_token):
        return False
    digest = hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), signature.strip())
