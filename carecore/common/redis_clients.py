"""Every Redis client CareCore makes, for a plain server or a Sentinel-managed one.

A URL from the settings is either `redis://host:6379/2` or the sentinels of a Redis behind
Sentinel, `sentinel://s1:26379/2;sentinel://s2:26379/2` (carecore/settings/redis_urls.py). For
the latter a client asks the sentinels for the current master on each new connection, so after
a failover the next connection goes to the promoted replica (docs/scaling.md).
"""

from __future__ import annotations

from typing import Any

import redis
import redis.asyncio
import redis.asyncio.sentinel
import redis.sentinel
from django.conf import settings
from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient

from carecore.settings.redis_urls import (
    database_of,
    is_sentinel,
    master_password,
    sentinel_addresses,
)


def _sentinel_kwargs() -> dict[str, Any]:
    password = settings.REDIS_SENTINEL_PASSWORD
    return {"password": password} if password else {}


def redis_client(url: str, **options: Any) -> redis.Redis:
    """A synchronous client for `url` (`options` as for redis.Redis)."""
    if not is_sentinel(url):
        return redis.Redis.from_url(url, **options)
    sentinel = redis.sentinel.Sentinel(
        sentinel_addresses(url), sentinel_kwargs=_sentinel_kwargs(), **_timeouts(options)
    )
    return sentinel.master_for(
        settings.REDIS_SENTINEL_MASTER,
        db=database_of(url),
        password=master_password(url),
        **options,
    )


def async_redis_client(url: str, **options: Any) -> redis.asyncio.Redis:
    """An asyncio client for `url` (`options` as for redis.asyncio.Redis)."""
    if not is_sentinel(url):
        return redis.asyncio.Redis.from_url(url, **options)
    sentinel = redis.asyncio.sentinel.Sentinel(
        sentinel_addresses(url), sentinel_kwargs=_sentinel_kwargs(), **_timeouts(options)
    )
    return sentinel.master_for(
        settings.REDIS_SENTINEL_MASTER,
        db=database_of(url),
        password=master_password(url),
        **options,
    )


def _timeouts(options: dict[str, Any]) -> dict[str, Any]:
    # The sentinels themselves answer within the same limits as the master.
    return {
        key: options[key] for key in ("socket_timeout", "socket_connect_timeout") if key in options
    }


class SentinelCachePool(redis.sentinel.SentinelConnectionPool):
    """Django's RedisCache `pool_class` for a Redis behind Sentinel.

    Django builds one pool per server listed in LOCATION (split on `;`), each through
    `pool_class.from_url`; every sentinel address names the same master, so each pool asks all
    the sentinels for it.
    """

    @classmethod
    def from_url(cls, url: str, **options: Any) -> SentinelCachePool:
        sentinel = redis.sentinel.Sentinel(
            sentinel_addresses(settings.CACHES["default"]["LOCATION"]),
            sentinel_kwargs=_sentinel_kwargs(),
        )
        return cls(
            settings.REDIS_SENTINEL_MASTER,
            sentinel,
            db=database_of(url),
            password=master_password(url),
            **options,
        )


class _ClientPerPool(RedisCacheClient):
    """Django's cache client, with one `redis.Redis` per connection pool instead of one per call.

    Django builds a new `redis.Redis` for every cache operation; its constructor fills a table
    of ~170 response callbacks, which was ~3 % of a send's CPU (the throttle's count and the
    announcer's wake-up each made one). A client holds no connection of its own (it borrows
    from the pool per command) and is safe to share between threads, as the pool is.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, redis.Redis] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> redis.Redis:
        # django-stubs leave out the client's private members; these two are what Django's own
        # get_client uses.
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]
        client = self._clients.get(id(pool))  # pools live as long as this client: ids stay theirs
        if client is None:
            made = self._client(connection_pool=pool)  # type: ignore[attr-defined]
            client = self._clients.setdefault(id(pool), made)
        return client


class RedisCache(DjangoRedisCache):
    """The default cache's backend: Django's, with its clients made once per pool."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _ClientPerPool
