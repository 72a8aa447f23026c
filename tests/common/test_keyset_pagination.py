"""KeysetPagination (carecore/common/pagination.py) refuses an ordering it could not page
exactly: every row needs its own position, so the order ends with a unique column and holds no
column that may be null (NULLs compare as neither before nor after anything)."""

from __future__ import annotations

import pytest
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from carecore.accounts.models import User
from carecore.common.pagination import KeysetPagination

pytestmark = pytest.mark.django_db


def _page(ordering: tuple[str, ...]) -> list[User]:
    paginator = type("Pagination", (KeysetPagination,), {"ordering": ordering})()
    request = Request(APIRequestFactory().get("/api/v1/anything/"))
    return paginator.paginate_queryset(User.objects.all(), request) or []


def test_it_pages_by_an_order_ending_with_a_unique_column(admin_user):
    assert _page(("-date_joined", "id")) == [admin_user]


@pytest.mark.parametrize(
    ("ordering", "refusal"),
    [
        (("-date_joined",), "ends with a unique column"),
        (("last_login", "id"), "non-null plain columns"),
    ],
)
def test_it_refuses_an_order_it_cannot_page_exactly(ordering, refusal):
    with pytest.raises(TypeError, match=refusal):
        _page(ordering)
