"""Credentials out of whatever the console shows: logged requests both ways, outbound
deliveries and their headers.

Even a fake's credentials do not belong on a page a newcomer browses, and some are real in
effect: a CRM notification's channel token is the only thing `/webhooks/zoho-crm/` checks, and a
signature or a bearer token shown whole can be replayed. Values are replaced by a marker; the
rest of the body stays readable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MARK = "[redacted]"

# Keys whose value is a credential, in JSON bodies and in form or query strings.
_SECRET_KEYS = (
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "token",
    "verifier_token",
    "webhook_secret",
    "password",
    "signature",
)
_FORM_ONLY_KEYS = ("code",)  # an OAuth code in a form; in JSON "code" is an error code
_JSON = re.compile(r'("(?:' + "|".join(_SECRET_KEYS) + r')"\s*:\s*)"(?:[^"\\]|\\.)*"', re.I)
_FORM = re.compile(
    r"((?:^|[&?])(?:" + "|".join((*_SECRET_KEYS, *_FORM_ONLY_KEYS)) + r")=)[^&\s]*", re.I
)
_SCHEMES = re.compile(r"\b(Bearer|Zoho-oauthtoken|Basic)\s+[A-Za-z0-9._~+/=-]+", re.I)
# Header names whose whole value is a credential.
SECRET_HEADERS = frozenset(
    {
        "authorization",
        "cookie",
        "intuit-signature",
        "x-zoho-webhook-signature",
        "x-hub-signature",
        "x-hub-signature-256",
    }
)


def redact(text: str) -> str:
    """`text` with every credential it carries replaced by a marker."""
    if not text:
        return text
    text = _JSON.sub(rf'\1"{MARK}"', text)
    text = _FORM.sub(rf"\1{MARK}", text)
    return _SCHEMES.sub(rf"\1 {MARK}", text)


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers, with credential headers' values replaced and the rest redacted as text."""
    return {
        name: MARK if name.lower() in SECRET_HEADERS else redact(str(value))
        for name, value in headers.items()
    }
