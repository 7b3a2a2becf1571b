"""Passwords in DSNs/URLs never reach logs, reports, plans or the journal."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_USERINFO = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I)
_PW_PARAM = re.compile(r"(?P<k>\b(?:password|passwd|pwd)=)(?P<v>[^&\s'\"]+)", re.I)


def redact(text: str) -> str:
    """Mask passwords in any text that may contain DSNs or URLs."""
    text = _USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:***@", text)
    return _PW_PARAM.sub(lambda m: f"{m['k']}***", text)


def scrub(text: str, *secrets: str) -> str:
    """Mask these literal secrets (a password, an auth header) wherever they appear in `text`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def redact_url(url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{host}" if ":" in userinfo else f"{user}@{host}"
    query = urlencode([(k, "***" if k.lower() in ("password", "passwd", "pwd") else v)
                       for k, v in parse_qsl(parts.query, keep_blank_values=True)])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
