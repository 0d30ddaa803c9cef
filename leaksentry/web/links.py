"""Signed links in alert mail: ``<base_url>/alerts/<id>?sig=...``.

The signature (itsdangerous, with a secret derived from the vault key) proves that the link
was made by leaksentry for that alert, and when. It grants nothing by itself: opening it still
requires a login, after which the operator lands on the alert. Expiry is checked when the
link is opened (``leaksentry serve --link-days``), so it can change without re-sending mail.
"""

from __future__ import annotations

from collections.abc import Callable

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from leaksentry.web.keys import derive

SALT = "leaksentry.alert-link"
DEFAULT_LINK_DAYS = 14.0


def signer(vault_key: bytes) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(derive(vault_key, "mail-links"), salt=SALT)


def alert_link(base_url: str, vault_key: bytes, alert_id: int) -> str:
    """The address of one alert on the triage page, signed."""
    sig = signer(vault_key).dumps(int(alert_id))
    return f"{base_url.rstrip('/')}/alerts/{int(alert_id)}?sig={sig}"


def check_link(vault_key: bytes, alert_id: int, sig: str, max_age_days: float) -> str:
    """'ok', 'expired' or 'invalid' (bad signature, or signed for another alert)."""
    try:
        signed_id = signer(vault_key).loads(sig, max_age=int(max_age_days * 86400))
    except SignatureExpired:
        return "expired"
    except BadSignature:
        return "invalid"
    return "ok" if signed_id == int(alert_id) else "invalid"


def link_builder(config, base_url: str) -> Callable[[int], str] | None:
    """What alerts.notify puts in each mail: None when no base_url is configured."""
    if not base_url:
        return None
    from leaksentry.vault import load_key

    vault_key = load_key(config.key_file)
    return lambda alert_id: alert_link(base_url, vault_key, alert_id)
