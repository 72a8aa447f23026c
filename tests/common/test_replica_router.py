"""The router's rules for reads that must see the primary, without a replica server."""

from __future__ import annotations

import pytest
from celery import shared_task
from django.db import transaction
from knox.models import AuthToken
from multidb.pinning import pin_this_thread, this_thread_is_pinned, unpin_this_thread

from carecore.common.replicas import PrimaryWhenItMattersRouter, replica_health
from messaging.models import Thread


@pytest.fixture
def one_replica(settings: pytest.FixtureRequest) -> None:
    settings.REPLICA_DATABASES = ["default"]  # any alias that answers stands in for a replica
    settings.CARECORE_REPLICA_LAG_CHECK_SECONDS = 0.0


@pytest.mark.django_db(transaction=True)
def test_a_read_outside_a_transaction_may_use_a_healthy_replica(one_replica: None) -> None:
    # `default` answers LAG_SQL as a primary: both LSN functions are NULL, so lag is 0.
    assert replica_health.is_usable("default")
    assert PrimaryWhenItMattersRouter().db_for_read(Thread) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_go_to_the_primary(settings, one_replica: None) -> None:
    settings.REPLICA_DATABASES = ["replica-that-is-down"]
    router = PrimaryWhenItMattersRouter()
    with transaction.atomic():
        assert router.db_for_read(Thread) == "default"


def test_authentication_state_is_read_from_the_primary(settings, one_replica: None) -> None:
    settings.REPLICA_DATABASES = ["replica-that-is-down"]
    assert PrimaryWhenItMattersRouter().db_for_read(AuthToken) == "default"


def test_a_pinned_thread_reads_the_primary(settings, one_replica: None) -> None:
    settings.REPLICA_DATABASES = ["replica-that-is-down"]
    pin_this_thread()
    try:
        assert PrimaryWhenItMattersRouter().db_for_read(Thread) == "default"
    finally:
        unpin_this_thread()


@shared_task
def _report_pinning() -> bool:
    return this_thread_is_pinned()


def test_a_celery_task_reads_the_primary_for_its_whole_run() -> None:
    assert _report_pinning.apply().get() is True
    assert not this_thread_is_pinned()
