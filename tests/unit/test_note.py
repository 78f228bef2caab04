"""C2SP signed notes, checkpoints and cosignatures (ledger/format/note.py), against the vectors the
specifications and the Go reference implementation publish."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ledger.format.note import (
    COSIGNATURE_V1,
    ED25519,
    CheckpointText,
    Note,
    NoteError,
    VerifierKey,
    cosign,
    cosigned_at,
    sign_checkpoint_note,
    verify_log_signature,
    with_signatures,
)


def key_from_seed(seed: bytes, name: str, kind: int) -> tuple[VerifierKey, Ed25519PrivateKey]:
    private = Ed25519PrivateKey.from_private_bytes(seed)
    public = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return VerifierKey(name, kind, public), private


def test_the_signed_note_specification_example_verifies() -> None:
    """c2sp.org/signed-note, "Verifier keys": its example key and signature."""
    key = VerifierKey.parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    note = Note.parse(
        "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERY"
        "NZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"
    )
    assert verify_log_signature(note, key)
    assert str(key) == "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
    forged = Note(note.text.replace("example", "forged"), note.signatures)
    assert not verify_log_signature(forged, key)


def test_the_go_reference_signature_is_reproduced_byte_for_byte() -> None:
    """golang.org/x/mod/sumdb/note's package example publishes its private key: Ed25519 is
    deterministic, so our signature line must be exactly the one it shows."""
    skey = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")
    key, private = key_from_seed(skey[1:], "PeterNeumann", ED25519)
    assert str(key) == "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    text = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n"
    signature = private.sign(text.encode())
    line = f"— PeterNeumann {base64.b64encode(key.id + signature).decode()}\n"
    assert line == (
        "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
    )


def test_a_checkpoint_note_and_its_cosignature_from_fixed_keys() -> None:
    """A log key and a witness key from fixed seeds sign the tlog-checkpoint example: every byte of
    the note and of the cosignature line is determined (Ed25519 is deterministic)."""
    log_key, log_private = key_from_seed(bytes(range(32)), "example.com/behind-the-sofa", ED25519)
    witness_key, witness_private = key_from_seed(bytes(range(32, 64)), "witness.example.com/w1", COSIGNATURE_V1)
    assert str(log_key) == "example.com/behind-the-sofa+1f59e8f5+AQOhB7/zzhC+HXDdGOdLwJln5NYwm6UNXx3chmQSVTG4"
    assert str(witness_key) == "witness.example.com/w1+969980cf+BCmsuuFBvMrwsi4alNNNC8c2HlJtC/4SyJeUvJMilm3X"
    root = base64.b64decode("CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=")
    note = sign_checkpoint_note(
        CheckpointText("example.com/behind-the-sofa", 20852163, root), log_key, log_private.sign
    )
    line = cosign(note, witness_key, 1679315147, witness_private.sign)
    assert str(with_signatures(note, [line])) == (
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
        "— example.com/behind-the-sofa H1no9Vbha/V7K+0nOUyOYWY2eeqkJO0R/8eVdJBP1U6klJ63rYHH36AjiNbqMeYZ5wXtNMpYFqOQ"
        "G4s/igFrnBBp3AU=\n"
        "— witness.example.com/w1 lpmAzwAAAABkGFDL6ade/xdmW0GepsICyPher/bBsso0aCocxkD4MgnQ2J3N/61CxrucC0uO4wzUWe3K7X"
        "vjkEYtewKXIfP/U7l4Cw==\n"
    )
    parsed = Note.parse(str(with_signatures(note, [line])))
    assert verify_log_signature(parsed, log_key) and cosigned_at(parsed, witness_key) == 1679315147
    assert CheckpointText.parse(parsed.text) == CheckpointText("example.com/behind-the-sofa", 20852163, root)
    other_tree = Note(str(CheckpointText("example.com/behind-the-sofa", 20852164, root)), parsed.signatures)
    assert not verify_log_signature(other_tree, log_key) and cosigned_at(other_tree, witness_key) is None


@pytest.mark.parametrize(
    "text",
    [
        "no signatures\n",
        "text\n\n— name\n",  # a line without a signature
        "text\n\n— name not-base64!\n",
        "text\r\n\n— name AAAAAAAA\n",  # a carriage return
        "text\n\n— name AAAA\n",  # shorter than a key id and one byte
    ],
)
def test_malformed_notes_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        Note.parse(text)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n12\n",  # no root
        "origin\n012\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # a leading zero
        "origin\n12\nshort\n",
        "origin\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",  # an empty tree with another root
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(NoteError):
        CheckpointText.parse(text)


def test_a_key_with_a_wrong_id_or_a_name_with_a_space_is_refused() -> None:
    with pytest.raises(NoteError):
        VerifierKey.parse("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
    with pytest.raises(NoteError):
        VerifierKey.parse("example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
