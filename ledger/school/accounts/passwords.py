"""Password hashes (argon2id) and API keys: how a secret is kept, checked and told apart from a guess."""

from __future__ import annotations

import asyncio
import hashlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
# OWASP's minimum for argon2id: 19 MiB, two passes.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


async def hash_password(password: str) -> str:
    """The argon2id hash of a password, computed off the event loop."""
    return await asyncio.to_thread(_hasher.hash, password)


async def password_matches(hashed: str | None, password: str) -> bool:
    """Whether `password` matches `hashed`; without a hash, as slow as a real check, so that timing
    does not tell which usernames exist."""
    if not hashed:
        await asyncio.to_thread(_burn_time)
        return False
    try:
        await asyncio.to_thread(_hasher.verify, hashed, password)
    except (VerificationError, InvalidHashError):
        return False
    return True


def _burn_time() -> None:
    """Spend about as long as a real verification."""
    _hasher.hash("not a password")
