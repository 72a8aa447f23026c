"""How django-axes names a client in its log lines, without the e-mail address.

Axes logs every failed login ("AXES: New login failure by {username: ..., ip_address: ...}") at
WARNING, and the username is the e-mail address someone typed: a patient's address, or a
stranger's. Logs travel further than the database (aggregators, support tickets), so the log
names the account by a keyed hash instead: the same address always gives the same value (a
spray against one account is still visible), and nobody without SECRET_KEY can turn it back
into the address or test a guess against it. The lockout itself still works on the real
address in the database (`AccessAttempt`).
"""

from __future__ import annotations

from typing import Any

from django.utils.crypto import salted_hmac


def account_hash(username: str | None) -> str:
    """A short keyed hash of a login name (case-insensitive), or "-" for none."""
    if not username:
        return "-"
    return salted_hmac("carecore.axes-log", username.strip().lower()).hexdigest()[:16]


def client_str(
    username: str | None,
    ip_address: str | None,
    user_agent: str | None,
    path_info: Any,
    request: Any = None,
) -> str:
    """AXES_CLIENT_STR_CALLABLE: the account hash, the client address and the path only."""
    if isinstance(path_info, tuple | list):
        path_info = path_info[0] if path_info else ""
    account = account_hash(username)
    return f'{{account: "{account}", ip_address: "{ip_address}", path_info: "{path_info}"}}'
