"""Redis URLs from the environment, checked once at start-up.

Providers hand out `redis://host:6379/0`, with a database number; CareCore gives each purpose
its own logical database of one server (broker 0, cache 1, ...), so it needs the server part
alone. Appending `/1` to a URL that already ends in `/0` made `redis://host:6379/0/1`, which
Celery rejected only when it first connected. Here a trailing `/0` is accepted and dropped, and
anything we cannot use refuses to start with a message that says what to write.

Redis behind Sentinel is written as Celery writes it: the sentinels, `;`-separated,
`sentinel://:password@s1:26379;sentinel://s2:26379;sentinel://s3:26379`, plus the master's name
in `REDIS_SENTINEL_MASTER`. A password in the URL is the Redis master's. Every client CareCore
makes (the broker, the cache, the channel layer, real-time tickets) asks the sentinels for the
current master (docs/scaling.md, "Redis with Sentinel").
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

REDIS_SCHEMES = ("redis", "rediss")
SENTINEL_SCHEME = "sentinel"


def _parts(url: str) -> list[str]:
    return [part.strip() for part in url.split(";") if part.strip()]


def is_sentinel(url: str) -> bool:
    return url.strip().startswith(f"{SENTINEL_SCHEME}://")


def _check_schemes(url: str, setting: str) -> list[str]:
    parts = _parts(url)
    schemes = {urlsplit(part).scheme for part in parts}
    if len(parts) > 1 and schemes != {SENTINEL_SCHEME}:
        raise ImproperlyConfigured(
            f"{setting} lists several URLs; only Sentinel addresses may be listed "
            "(sentinel://s1:26379;sentinel://s2:26379)."
        )
    for part in parts:
        split = urlsplit(part)
        if split.scheme not in (*REDIS_SCHEMES, SENTINEL_SCHEME) or not split.hostname:
            raise ImproperlyConfigured(
                f"{setting} must look like redis://host:6379, rediss://user:password@host:6380 "
                f"or sentinel://s1:26379;sentinel://s2:26379 (got scheme {split.scheme!r})."
            )
    if not parts:
        raise ImproperlyConfigured(f"{setting} is empty.")
    return parts


def redis_server_url(url: str, *, setting: str = "REDIS_URL") -> str:
    """The server part of a Redis URL (scheme, credentials, host, port, query), without a db."""
    parts = _check_schemes(url, setting)
    for part in parts:
        split = urlsplit(part)
        database = split.path.strip("/")
        if database not in ("", "0"):
            raise ImproperlyConfigured(
                f"{setting} names Redis database {database!r}, but CareCore uses several "
                "databases of one server (broker 0, cache 1, channel layer 2). Set "
                f"{setting}={urlunsplit(split._replace(path=''))} and, to choose other "
                "databases, set CELERY_BROKER_URL, CACHE_URL and CHANNEL_LAYER_URL to full URLs "
                "ending in their database numbers."
            )
    return ";".join(urlunsplit(urlsplit(part)._replace(path="")) for part in parts)


def redis_database_url(server_url: str, database: int) -> str:
    """`server_url` (as returned by `redis_server_url`) with one logical database selected."""
    return ";".join(
        urlunsplit(urlsplit(part)._replace(path=f"/{database}")) for part in _parts(server_url)
    )


def checked_redis_url(url: str, *, setting: str) -> str:
    """A full Redis URL given for one purpose: scheme and host checked, db a number if given."""
    for part in _check_schemes(url, setting):
        path = urlsplit(part).path
        if path.strip("/") and not path.strip("/").isdigit():
            raise ImproperlyConfigured(
                f"{setting} ends in {path!r}; a Redis URL's path is one database number, "
                "for example redis://host:6379/1."
            )
    return url.strip()


def database_of(url: str) -> int:
    path = urlsplit(_parts(url)[0]).path.strip("/")
    return int(path) if path else 0


def sentinel_addresses(url: str) -> list[tuple[str, int]]:
    return [(str(urlsplit(part).hostname), urlsplit(part).port or 26379) for part in _parts(url)]


def master_password(url: str) -> str | None:
    password = urlsplit(_parts(url)[0]).password
    return unquote(password) if password else None


def channel_layer_host(url: str, *, master: str, sentinel_password: str | None) -> dict[str, Any]:
    """One `hosts` entry of channels-redis's RedisChannelLayer for this URL."""
    if not is_sentinel(url):
        return {"address": url}
    host: dict[str, Any] = {
        "sentinels": sentinel_addresses(url),
        "master_name": master,
        "db": database_of(url),
    }
    if master_password(url):
        host["password"] = master_password(url)
    if sentinel_password:
        host["sentinel_kwargs"] = {"password": sentinel_password}
    return host


def sentinel_transport_options(
    broker_url: str, *, master: str, sentinel_password: str | None
) -> dict[str, Any]:
    """Celery broker transport options a Sentinel broker URL needs (none for a plain one):
    kombu asks the sentinels for this master on each new connection."""
    if not is_sentinel(broker_url):
        return {}
    options: dict[str, Any] = {"master_name": master}
    if sentinel_password:
        options["sentinel_kwargs"] = {"password": sentinel_password}
    return options
