"""0013 on real SQLite and PostgreSQL: keys made before it keep caching, and it can be undone."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import inspect, text

from bonito.store.db import make_engine, migrate
from tests.support.alembic import alembic

T0 = datetime(2026, 3, 1, tzinfo=UTC)


async def test_keys_stored_before_0013_keep_using_the_cache(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        await alembic(engine, "upgrade", "0012")
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO orgs (id, name, tier, created_at) VALUES ('org_1', 'acme', "
                                    "'enterprise', :t)"), {"t": T0})
            await conn.execute(text(
                "INSERT INTO gateway_keys (id, org_id, name, key_hash, key_prefix, key_last4, created_at) "
                "VALUES ('key_1', 'org_1', 'ci', :h, 'bn-abcd', 'wxyz', :t)"), {"h": "0" * 64, "t": T0})
        await migrate(engine)
        async with engine.begin() as conn:
            assert bool((await conn.execute(text("SELECT cache FROM gateway_keys"))).scalar_one()) is True
            # a key inserted without naming the column (an older replica mid-upgrade) caches too
            await conn.execute(text(
                "INSERT INTO gateway_keys (id, org_id, name, key_hash, key_prefix, key_last4, created_at) "
                "VALUES ('key_2', 'org_1', 'ops', :h, 'bn-efgh', 'stuv', :t)"), {"h": "1" * 64, "t": T0})
            await conn.execute(text("UPDATE gateway_keys SET cache = :off WHERE id = 'key_1'"), {"off": False})
            rows = (await conn.execute(text("SELECT id, cache FROM gateway_keys ORDER BY id"))).all()
        assert [(i, bool(c)) for i, c in rows] == [("key_1", False), ("key_2", True)]

        await alembic(engine, "downgrade", "0012")
        async with engine.connect() as conn:
            columns = await conn.run_sync(lambda c: {col["name"] for col in inspect(c).get_columns("gateway_keys")})
            assert "cache" not in columns and "tags" in columns
            assert (await conn.execute(text("SELECT name FROM gateway_keys ORDER BY id"))).scalars().all() == [
                "ci", "ops"]
    finally:
        await engine.dispose()
