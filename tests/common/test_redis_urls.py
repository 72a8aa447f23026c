"""Redis URLs as providers hand them out are accepted; unusable ones refuse to start clearly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from carecore.settings.redis_urls import (
    channel_layer_host,
    checked_redis_url,
    redis_database_url,
    redis_server_url,
    sentinel_transport_options,
)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("given", "server"),
    [
        ("redis://cache.internal:6379", "redis://cache.internal:6379"),
        ("redis://cache.internal:6379/", "redis://cache.internal:6379"),
        ("redis://cache.internal:6379/0", "redis://cache.internal:6379"),
        ("rediss://user:secret@cache.internal:6380/0", "rediss://user:secret@cache.internal:6380"),
        (
            "rediss://cache.internal:6380/0?ssl_cert_reqs=required",
            "rediss://cache.internal:6380?ssl_cert_reqs=required",
        ),
    ],
)
def test_it_accepts_a_server_url_with_or_without_database_zero(given: str, server: str) -> None:
    assert redis_server_url(given) == server


def test_it_selects_each_purposes_database_on_the_server() -> None:
    server = redis_server_url("rediss://user:secret@cache.internal:6380/0?ssl_cert_reqs=required")
    assert redis_database_url(server, 1) == (
        "rediss://user:secret@cache.internal:6380/1?ssl_cert_reqs=required"
    )


def test_it_refuses_another_database_number_and_says_what_to_write() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        redis_server_url("redis://cache.internal:6379/3")
    message = str(refused.value)
    assert "REDIS_URL=redis://cache.internal:6379" in message
    assert "CELERY_BROKER_URL" in message


@pytest.mark.parametrize("given", ["http://cache.internal:6379", "cache.internal:6379", "redis://"])
def test_it_refuses_what_is_not_a_redis_url(given: str) -> None:
    with pytest.raises(ImproperlyConfigured):
        redis_server_url(given)


def test_it_refuses_a_purpose_url_whose_path_is_not_a_database_number() -> None:
    with pytest.raises(ImproperlyConfigured):
        checked_redis_url("redis://cache.internal:6379/0/1", setting="CELERY_BROKER_URL")
    assert checked_redis_url("redis://h:6379/4", setting="CACHE_URL") == "redis://h:6379/4"


def test_the_settings_build_a_broker_url_celery_accepts_from_a_url_ending_in_zero() -> None:
    # The settings in a fresh interpreter, as a deployment would load them.
    env = {
        **os.environ,
        "REDIS_URL": "redis://cache.internal:6379/0",
        "DJANGO_SETTINGS_MODULE": "carecore.settings.local",
    }
    env.pop("CELERY_BROKER_URL", None)
    env.pop("CACHE_URL", None)
    printed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; django.setup(); from django.conf import settings;"
            "print(settings.CELERY_BROKER_URL, settings.CACHES['default']['LOCATION'])",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert printed == ["redis://cache.internal:6379/0", "redis://cache.internal:6379/1"]


SENTINELS = "sentinel://:secret@s1.internal:26379;sentinel://:secret@s2.internal:26380"


def test_it_accepts_sentinel_addresses_and_selects_a_database_on_each() -> None:
    server = redis_server_url(SENTINELS + "/0")
    assert server == SENTINELS
    assert redis_database_url(server, 2) == (
        "sentinel://:secret@s1.internal:26379/2;sentinel://:secret@s2.internal:26380/2"
    )


def test_it_refuses_a_list_of_plain_redis_urls() -> None:
    with pytest.raises(ImproperlyConfigured, match="only Sentinel addresses"):
        redis_server_url("redis://a:6379;redis://b:6379")


def test_the_channel_layer_asks_the_sentinels_for_the_master() -> None:
    host = channel_layer_host(
        redis_database_url(SENTINELS, 2), master="carecore", sentinel_password="s3"
    )
    assert host == {
        "sentinels": [("s1.internal", 26379), ("s2.internal", 26380)],
        "master_name": "carecore",
        "db": 2,
        "password": "secret",
        "sentinel_kwargs": {"password": "s3"},
    }
    assert channel_layer_host("redis://h:6379/2", master="", sentinel_password=None) == {
        "address": "redis://h:6379/2"
    }


def test_a_sentinel_broker_names_its_master_and_a_plain_one_needs_nothing() -> None:
    assert sentinel_transport_options(SENTINELS, master="carecore", sentinel_password=None) == {
        "master_name": "carecore"
    }
    assert sentinel_transport_options("redis://h:6379/0", master="", sentinel_password="x") == {}


def test_sentinel_addresses_without_a_master_name_refuse_to_start() -> None:
    env = {
        **os.environ,
        "REDIS_URL": SENTINELS,
        "DJANGO_SETTINGS_MODULE": "carecore.settings.local",
    }
    env.pop("REDIS_SENTINEL_MASTER", None)
    started = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert started.returncode != 0
    assert "set REDIS_SENTINEL_MASTER" in started.stderr
