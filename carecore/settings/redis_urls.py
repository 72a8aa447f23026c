"""Redis URLs from the environment, checked once at start-up.

Providers hand out `redis://host:6379/0`, with a database number; CareCore gives each purpose
its own logical database of one server (broker 0, cache 1, ...), so it needs the server part
alone. Appending `/1` to a URL that already ends in `/0` made `redis://host:6379/0/1`, which
Celery rejected only when it first connected. Here a trailing `/0` is accepted and dropped, and
anything we cannot use refuses to start with a message that says what to write.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

REDIS_SCHEMES = ("redis", "rediss")


def redis_server_url(url: str, *, setting: str = "REDIS_URL") -> str:
    """The server part of a Redis URL (scheme, credentials, host, port, query), without a db."""
    parts = urlsplit(url.strip())
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(
            f"{setting} must look like redis://host:6379 or rediss://user:password@host:6380 "
            f"(got a URL with scheme {parts.scheme!r})."
        )
    database = parts.path.strip("/")
    if database not in ("", "0"):
        raise ImproperlyConfigured(
            f"{setting} names Redis database {database!r}, but CareCore uses several databases of "
            "one server (broker 0, cache 1, channel layer 2). Set "
            f"{setting}={urlunsplit(parts._replace(path=''))} and, to choose other databases, "
            "set CELERY_BROKER_URL, CACHE_URL and CHANNEL_LAYER_URL to full URLs ending in "
            "their database numbers."
        )
    return urlunsplit(parts._replace(path=""))


def redis_database_url(server_url: str, database: int) -> str:
    """`server_url` (as returned by `redis_server_url`) with one logical database selected."""
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def checked_redis_url(url: str, *, setting: str) -> str:
    """A full Redis URL given for one purpose: scheme and host checked, db a number if given."""
    parts = urlsplit(url.strip())
    if parts.scheme not in REDIS_SCHEMES or not parts.hostname:
        raise ImproperlyConfigured(f"{setting} must be a redis:// or rediss:// URL.")
    database = parts.path.strip("/")
    if database and not database.isdigit():
        raise ImproperlyConfigured(
            f"{setting} ends in {parts.path!r}; a Redis URL's path is one database number, "
            "for example redis://host:6379/1."
        )
    return url.strip()
