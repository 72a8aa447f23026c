"""The planner's price of a page read out of order (settings: DATABASE_RANDOM_PAGE_COST): given
at connection start on every direct connection, never behind PgBouncer, which refuses start-up
options (docs/scaling.md)."""

from __future__ import annotations

import pytest
from django.db import connection

from carecore.settings import base


def test_every_connection_plans_for_data_in_memory(db):
    with connection.cursor() as cursor:
        cursor.execute("SHOW random_page_cost")
        assert cursor.fetchone() == ("1.1",)


def _options_after(monkeypatch, *, cost: str, pgbouncer: bool, given: str = "") -> str | None:
    monkeypatch.setattr(base, "DATABASE_RANDOM_PAGE_COST", cost)
    monkeypatch.setattr(base, "DATABASE_PGBOUNCER", pgbouncer)
    database: dict = {"OPTIONS": {"options": given} if given else {}}
    base._with_planner_costs(database)
    options: str | None = database["OPTIONS"].get("options")
    return options


def test_it_joins_the_options_a_database_url_gave(monkeypatch):
    assert _options_after(monkeypatch, cost="1.1", pgbouncer=False) == "-c random_page_cost=1.1"
    assert (
        _options_after(monkeypatch, cost="2", pgbouncer=False, given="-c search_path=clinic")
        == "-c search_path=clinic -c random_page_cost=2.0"
    )


def test_behind_pgbouncer_or_when_empty_the_servers_value_stands(monkeypatch):
    assert _options_after(monkeypatch, cost="1.1", pgbouncer=True) is None
    assert _options_after(monkeypatch, cost="", pgbouncer=False) is None


def test_a_value_that_is_no_number_is_refused(monkeypatch):
    # It is written into the connection's options: only a number may reach them.
    with pytest.raises(ValueError):
        _options_after(monkeypatch, cost="1.1 -c work_mem=1TB", pgbouncer=False)
