"""What `bonito admin create` and `bonito secrets rotate-master-key` do: operator work on the database."""

from __future__ import annotations

import asyncio
import getpass
import os
import re
import sys

from bonito.config.settings import Settings

_SLUG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def create_admin(email: str, password: str | None, org: str) -> int:
    """Create (or refuse: exit 1) a platform admin in `org`; a malformed field is exit 2."""
    from pydantic import ValidationError

    from bonito.control.schemas.auth import RegisterIn

    password = password or os.environ.get("BONITO_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    org = org.strip()
    try:
        body = RegisterIn(email=email, password=password, org_name=org)
    except ValidationError as exc:
        # name the field and the rule, never the value: it may be the password
        for err in exc.errors():
            print(f"bonito: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}", file=sys.stderr)
        return 2
    return asyncio.run(_create(body.email, body.password, org))


async def _create(email: str, password: str, org: str) -> int:
    from bonito.control.errors import Conflict
    from bonito.control.services import accounts, audit
    from bonito.store.db import make_engine, migrate

    settings = Settings.from_env()
    engine = make_engine(settings.effective_database_url)
    try:
        await migrate(engine)
        from sqlalchemy.ext.asyncio import async_sessionmaker

        async with async_sessionmaker(engine, expire_on_commit=False)() as session:
            try:
                user, org_row = await accounts.create_user_and_org(
                    session, email, password, org, org_id=org if _SLUG.match(org) else None, platform_admin=True)
            except Conflict as exc:
                print(f"bonito: {exc.detail}", file=sys.stderr)
                return 1
            audit.record(session, "admin.create", org_id=org_row.id, actor_id=user.id, actor_email=email,
                         target_type="user", target_id=user.id, details={"via": "cli"})
            await session.commit()
        print(f"created admin {email} in org '{org_row.name}' ({org_row.id}); log in with POST /api/auth/login")
        return 0
    finally:
        await engine.dispose()


def rotate(new_key: str | None) -> int:
    """Re-encrypt every credential under `new_key` (default: a generated one)."""
    from bonito.control.services.rotation import rotate_master_key
    from bonito.secrets.keyring import SecretError
    from bonito.store.db import make_engine, migrate

    settings = Settings.from_env()

    async def run() -> int:
        engine = make_engine(settings.effective_database_url)
        try:
            await migrate(engine)
            result = await rotate_master_key(engine, settings.data_dir, settings.master_key, new_key)
        except SecretError as exc:
            print(f"bonito: {exc}", file=sys.stderr)
            return 1
        finally:
            await engine.dispose()
        print(f"re-encrypted {result.reencrypted} credentials"
              + (f" ({result.skipped} held by another secrets backend, unchanged)" if result.skipped else ""))
        if result.new_key_text:
            print("BONITO_MASTER_KEY is set in the environment: restart every server with\n"
                  f"  BONITO_MASTER_KEY={result.new_key_text}")
        return 0

    return asyncio.run(run())
