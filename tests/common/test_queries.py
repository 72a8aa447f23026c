"""by_primary_key: one row by its key, without the ORDER BY `.first()` adds."""

from __future__ import annotations

import uuid

import pytest

from carecore.accounts.models import User
from carecore.common.queries import by_primary_key

from ..factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_finds_the_row_by_its_key_within_the_queryset(django_assert_num_queries):
    user = UserFactory()
    UserFactory()

    with django_assert_num_queries(1) as context:
        assert by_primary_key(User.objects.all(), user.pk) == user

    assert "ORDER BY" not in context.captured_queries[0]["sql"]
    assert by_primary_key(User.objects.filter(is_active=False), user.pk) is None
    assert by_primary_key(User.objects.order_by("-email"), uuid.uuid4()) is None
