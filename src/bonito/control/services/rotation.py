"""Re-encrypt every stored credential under a new master key (`bonito secrets rotate-master-key`).

Crash-safe order: the new key is written beside the old one first (`master.key.next`,
which readers also accept), then all ciphertexts change in one transaction, then
the new key replaces the old file. Running servers pick the new key up from the
file when they meet a ciphertext sealed with it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bonito.control.services.common import bump_version, now
from bonito.secrets.keyring import (
    KEY_FILE,
    NEXT_FILE,
    PREFIX,
    Keyring,
    load_keyring,
    new_key_text,
    parse_key,
    write_key_file,
)
from bonito.store.catalog import ProviderRow


@dataclass(frozen=True)
class RotationResult:
    reencrypted: int
    skipped: int  # references held by another backend (e.g. Vault)
    new_key_text: str | None  # set when the key comes from the environment: the operator must install it


async def rotate_master_key(engine: AsyncEngine, data_dir: Path, env_key: str | None,
                            new_text: str | None = None) -> RotationResult:
    old = load_keyring(data_dir, env_key)
    text = new_text or new_key_text()
    new = Keyring(parse_key(text))
    if not env_key:
        write_key_file(data_dir / NEXT_FILE, text)
    done = skipped = 0
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        for row in (await session.execute(select(ProviderRow))).scalars():
            if not row.secret_ref.startswith(PREFIX + ":"):
                skipped += 1
                continue
            name = f"providers/{row.id}"
            row.secret_ref = new.seal(old.open(row.secret_ref, name), name)
            row.updated_at = now()
            done += 1
        await bump_version(session)
        await session.commit()
    if env_key:
        return RotationResult(done, skipped, text)
    os.replace(data_dir / NEXT_FILE, data_dir / KEY_FILE)
    return RotationResult(done, skipped, None)
