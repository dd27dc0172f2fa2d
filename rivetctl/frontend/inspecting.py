"""Inspector answers as the command line and the REPL show them: connection rows with secrets redacted."""

from __future__ import annotations

from typing import Any

SECRET_WORDS = ("token", "secret", "password", "passwd", "key", "auth", "credential", "cookie", "session")
"""A param whose key contains one of these (any case) is shown as ``***``."""


def redact_secrets(value: Any) -> Any:
    """``value`` with the values of secret-looking keys replaced by ``***`` (at any depth)."""
    if isinstance(value, dict):
        return {
            k: "***" if any(w in str(k).lower() for w in SECRET_WORDS) else redact_secrets(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_secrets(v) for v in value]
    return value


def connection_rows(connections: list[dict[str, Any]], *, show_secrets: bool) -> list[dict[str, Any]]:
    """One row per connection: id, params (redacted unless ``show_secrets``), state, hibernatable,
    subscriptions."""
    rows = []
    for conn in connections:
        raw_details = conn.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        params = details.get("params")
        rows.append(
            {
                "id": conn.get("id"),
                "params": params if show_secrets else redact_secrets(params),
                "state": details.get("state", conn.get("state")),
                "hibernatable": details.get("isHibernatable"),
                "subscriptions": details.get("subscriptions"),
            }
        )
    return rows
