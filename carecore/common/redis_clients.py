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
