"""Migrations against real SQLite and PostgreSQL: an install made before a migration keeps its data, and
the migration can be undone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bonito.store.db import make_engine, migrate
from tests.support.alembic import alembic

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def _policy_columns(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("routing_policies")})


async def test_policies_stored_before_0005_keep_working_with_the_error_rate_off(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await alembic(engine, "upgrade", "0004")
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO orgs (id, name, tier, created_at) VALUES ('org_1', 'acme', "
                                    "'enterprise', :t)"), {"t": T0})
            await conn.execute(text(
                "INSERT INTO routing_policies (id, org_id, name, strategy, targets, retries, timeout_s, "
                "breaker_failures, breaker_cooldown_s, created_at, updated_at) VALUES ('rte_1', 'org_1', "
                "'prod', 'failover', '[{\"model\": \"m\"}]', 3, 30, 4, 15, :t, :t)"), {"t": T0})
        await migrate(engine)
        async with engine.connect() as conn:
            row = (await conn.execute(text(
                "SELECT breaker_failures, breaker_cooldown_s, breaker_error_rate, breaker_window_s, "
                "breaker_min_requests FROM routing_policies WHERE id = 'rte_1'"))).one()
        assert tuple(row) == (4, 15.0, None, 60.0, 20)

        await alembic(engine, "downgrade", "0004")
        columns = await _policy_columns(engine)
        assert "breaker_cooldown_s" in columns and not columns & {
            "breaker_error_rate", "breaker_window_s", "breaker_min_requests"}
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT name FROM routing_policies"))).scalars().all() == ["prod"]
    finally:
        await engine.dispose()
