"""Checkpoints as C2SP signed notes, and witness cosignatures, so that the witnesses of the
transparency-log ecosystem can cosign a school's tree (docs/LEDGER-FORMAT.md §9).

Formats (c2sp.org/signed-note, tlog-checkpoint, tlog-cosignature v1):

- A note is its text (non-empty, every line ending in "\\n"), an empty line, then signature lines
  `— <key name> <base64(key id[4] || signature)>\\n` (the dash is U+2014).
- A checkpoint's text is `<origin>\\n<tree size>\\n<base64 root>\\n`: the log's origin, the size in
  decimal, the RFC 9162 root. The log signs the text with Ed25519 (signature type 0x01).
- A key id is SHA-256(key name || "\\n" || type byte || public key)[:4]; a verifier key is written
  `<name>+<key id in hex>+<base64(type byte || public key)>`.
- A witness's Ed25519 cosignature (type 0x04) signs "cosignature/v1\\ntime <t>\\n" followed by the
  checkpoint's text, and its blob is key id || t as 8 bytes big-endian || signature.

Only the cryptography package and the standard library are used.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ledger.base.errors import HocbaError

ED25519 = 0x01
COSIGNATURE_V1 = 0x04
DASH = "\u2014 "
MAX_SIGNATURES = 100  # a verifier must accept at least 16 (signed-note)
EMPTY_ROOT = hashlib.sha256(b"").digest()

Sign = Callable[[bytes], bytes]  # an Ed25519 signature over the given bytes


class NoteError(HocbaError, ValueError):
    """A note, a checkpoint text or a key that does not follow its format."""


def key_id(name: str, kind: int, public_key: bytes) -> bytes:
    return hashlib.sha256(name.encode() + b"\n" + bytes([kind]) + public_key).digest()[:4]


def _check_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError(f"a key name is non-empty, without spaces or '+': {name!r}")


@dataclass(frozen=True)
class VerifierKey:
    """A public key as notes name it: Ed25519 for a log's signature, or a witness's cosignature."""

    name: str
    kind: int
    public_key: bytes

    @property
    def id(self) -> bytes:
        return key_id(self.name, self.kind, self.public_key)

    def __str__(self) -> str:
        blob = base64.b64encode(bytes([self.kind]) + self.public_key).decode()
        return f"{self.name}+{self.id.hex()}+{blob}"

    @classmethod
    def parse(cls, text: str) -> VerifierKey:
        name, _, rest = text.strip().partition("+")
        hex_id, _, blob = rest.partition("+")
        try:
            raw = base64.b64decode(blob, validate=True)
        except binascii.Error:
            raise NoteError(f"the verifier key {text!r} is not name+id+base64") from None
        _check_name(name)
        if len(hex_id) != 8 or len(raw) != 33 or raw[0] not in (ED25519, COSIGNATURE_V1):
            raise NoteError(f"the verifier key {text!r} is not an Ed25519 key of a log or a witness")
        key = cls(name, raw[0], raw[1:])
        if key.id.hex() != hex_id:
            raise NoteError(f"the verifier key {text!r} has the wrong key id")
        return key

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True


@dataclass(frozen=True)
class SignatureLine:
    name: str
    blob: bytes

    @property
    def id(self) -> bytes:
        return self.blob[:4]

    def __str__(self) -> str:
        return f"{DASH}{self.name} {base64.b64encode(self.blob).decode()}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[SignatureLine, ...]

    def __str__(self) -> str:
        return self.text + "\n" + "".join(str(s) for s in self.signatures)

    def encode(self) -> bytes:
        return str(self).encode()

    @classmethod
    def parse(cls, data: bytes | str) -> Note:
        raw = data.decode() if isinstance(data, bytes) else data
        if any(ch < " " and ch != "\n" for ch in raw):
            raise NoteError("a note holds no control character but line feeds")
        split = raw.rfind("\n\n")
        if split < 0 or not raw.endswith("\n"):
            raise NoteError("a note is its text, an empty line, and signature lines")
        text, block = raw[: split + 1], raw[split + 2 :]
        lines = block[:-1].split("\n")
        if len(lines) > MAX_SIGNATURES:
            raise NoteError(f"a note carries at most {MAX_SIGNATURES} signatures")
        signatures = []
        for line in lines:
            name, _, encoded = line.removeprefix(DASH).partition(" ")
            if not line.startswith(DASH) or not encoded:
                raise NoteError(f"not a signature line: {line!r}")
            try:
                blob = base64.b64decode(encoded, validate=True)
            except binascii.Error:
                raise NoteError(f"a signature line's signature is not base64: {line!r}") from None
            if len(blob) < 5:
                raise NoteError(f"a signature line's signature is too short: {line!r}")
            signatures.append(SignatureLine(name, blob))
        return cls(text, tuple(signatures))

    def signed_by(self, key: VerifierKey) -> list[SignatureLine]:
        return [s for s in self.signatures if s.name == key.name and s.id == key.id]


@dataclass(frozen=True)
class CheckpointText:
    origin: str
    tree_size: int
    root: bytes

    def __str__(self) -> str:
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> CheckpointText:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or any(not line for line in lines[:-1]):
            raise NoteError("a checkpoint is at least three non-empty lines: origin, size, root")
        origin, size, root = lines[0], lines[1], lines[2]
        if not size.isdigit() or str(int(size)) != size:
            raise NoteError(f"the tree size {size!r} is not a decimal number without leading zeros")
        try:
            digest = base64.b64decode(root, validate=True)
        except binascii.Error:
            digest = b""
        if len(digest) != 32:
            raise NoteError("the root is not the base64 of 32 bytes")
        if int(size) == 0 and digest != EMPTY_ROOT:
            raise NoteError("the empty tree's root is SHA-256 of nothing")
        return cls(origin, int(size), digest)


def sign_checkpoint_note(text: CheckpointText, key: VerifierKey, sign: Sign) -> Note:
    """The log's note of a checkpoint: its text, signed with the log's Ed25519 key (type 0x01)."""
    if key.kind != ED25519:
        raise NoteError("a log signs its checkpoints with an Ed25519 key of type 0x01")
    _check_name(key.name)
    body = str(text)
    return Note(body, (SignatureLine(key.name, key.id + sign(body.encode())),))


def verify_log_signature(note: Note, key: VerifierKey) -> bool:
    """Whether `key` signed the note. A line with the key's name and id that does not verify makes
    the whole note fail, as the format requires."""
    lines = note.signed_by(key)
    return bool(lines) and all(key.verify(note.text.encode(), line.blob[4:]) for line in lines)


def cosignature_message(text: str, timestamp: int) -> bytes:
    return f"cosignature/v1\ntime {timestamp}\n".encode() + text.encode()


def cosign(note: Note, key: VerifierKey, timestamp: int, sign: Sign) -> SignatureLine:
    """A witness's cosignature of a checkpoint at `timestamp` (seconds since the epoch)."""
    if key.kind != COSIGNATURE_V1 or not 0 < timestamp < 2**63:
        raise NoteError("a cosignature is made with a key of type 0x04 at a positive time")
    signature = sign(cosignature_message(note.text, timestamp))
    return SignatureLine(key.name, key.id + timestamp.to_bytes(8, "big") + signature)


def cosigned_at(note: Note, key: VerifierKey) -> int | None:
    """The time of `key`'s valid cosignature of the note, or None when it has none that verifies."""
    for line in note.signed_by(key):
        if len(line.blob) != 4 + 8 + 64:
            continue
        timestamp = int.from_bytes(line.blob[4:12], "big")
        if timestamp and key.verify(cosignature_message(note.text, timestamp), line.blob[12:]):
            return timestamp
    return None


def with_signatures(note: Note, lines: Sequence[SignatureLine]) -> Note:
    """The note with more signature lines, each (name, key id) once."""
    seen = {(s.name, s.id) for s in note.signatures}
    extra = [s for s in lines if (s.name, s.id) not in seen]
    return Note(note.text, (*note.signatures, *extra))
