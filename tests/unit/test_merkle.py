"""RFC 9162 Merkle hashing and proofs, against the Certificate Transparency reference vectors
(transparency-dev/merkle test data) and against hand-built trees."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.format import merkle

LEAF_INPUTS = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
LEAVES = [merkle.leaf_hash(d) for d in LEAF_INPUTS]
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]


def hexes(*values: str) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


INCLUSION = [
    (0, 1, []),
    (
        0,
        8,
        hexes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        5,
        8,
        hexes(
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
    (2, 3, hexes("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")),
    (
        1,
        5,
        hexes(
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ),
    ),
]
CONSISTENCY = [
    (
        1,
        8,
        hexes(
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ),
    ),
    (
        6,
        8,
        hexes(
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ),
    ),
]


def flip(value: bytes, bit: int = 0) -> bytes:
    return bytes([value[0] ^ (1 << bit)]) + value[1:]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_reference_tree_heads(size: int) -> None:
    assert merkle.root(LEAVES[:size]) == ROOTS[size]


def test_frontier_restored_from_its_nodes_continues_the_same_tree() -> None:
    frontier = merkle.Frontier()
    frontier.extend(LEAVES[:5])
    restored = merkle.Frontier(5, frontier.nodes)
    restored.extend(LEAVES[5:])
    assert restored.root() == ROOTS[8]
    with pytest.raises(ValueError, match="has 2 nodes"):
        merkle.Frontier(5, frontier.nodes[:1])


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION)
def test_inclusion_proofs_match_the_reference_paths(index: int, size: int, expected: list[bytes]) -> None:
    proof = merkle.inclusion_proof(LEAVES[:size], index)
    assert proof == expected
    assert merkle.verify_inclusion(LEAVES[index], index, size, proof, ROOTS[size])


@pytest.mark.parametrize(("index", "size", "expected"), INCLUSION[1:])
def test_inclusion_fails_when_one_bit_flips(index: int, size: int, expected: list[bytes]) -> None:
    assert not merkle.verify_inclusion(flip(LEAVES[index]), index, size, expected, ROOTS[size])
    assert not merkle.verify_inclusion(LEAVES[index], index, size, expected, flip(ROOTS[size], 7))
    for position in range(len(expected)):
        tampered = list(expected)
        tampered[position] = flip(tampered[position], 3)
        assert not merkle.verify_inclusion(LEAVES[index], index, size, tampered, ROOTS[size])
    assert not merkle.verify_inclusion(LEAVES[index], index ^ 1, size, expected, ROOTS[size])
    assert not merkle.verify_inclusion(LEAVES[index], index, size, expected[:-1], ROOTS[size])


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_proofs_match_the_reference_paths(first: int, second: int, expected: list[bytes]) -> None:
    proof = merkle.consistency_proof(LEAVES[:second], first)
    assert proof == expected
    assert merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], proof)


@pytest.mark.parametrize(("first", "second", "expected"), CONSISTENCY)
def test_consistency_fails_when_one_bit_flips(first: int, second: int, expected: list[bytes]) -> None:
    assert not merkle.verify_consistency(first, second, flip(ROOTS[first]), ROOTS[second], expected)
    assert not merkle.verify_consistency(first, second, ROOTS[first], flip(ROOTS[second]), expected)
    for position in range(len(expected)):
        tampered = list(expected)
        tampered[position] = flip(tampered[position], 5)
        assert not merkle.verify_consistency(first, second, ROOTS[first], ROOTS[second], tampered)


def test_hand_built_consistency_proof_from_three_to_five() -> None:
    # Tree of 5 = node(node(node(l0,l1), node(l2,l3)), l4); tree of 3 = node(node(l0,l1), l2).
    # PROOF(3, D[5]) = [l2, l3, node(l0,l1), l4] by RFC 9162 §2.1.4.1.
    l0, l1, l2, l3, l4 = LEAVES[:5]
    expected = [l2, l3, merkle.node_hash(l0, l1), l4]
    assert merkle.consistency_proof(LEAVES[:5], 3) == expected
    assert merkle.verify_consistency(3, 5, ROOTS[3], ROOTS[5], expected)


def test_degenerate_consistency_cases() -> None:
    assert merkle.verify_consistency(0, 5, merkle.EMPTY_ROOT, ROOTS[5], [])
    assert merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[4], [])
    assert not merkle.verify_consistency(4, 4, ROOTS[4], ROOTS[5], [])
    assert not merkle.verify_consistency(5, 4, ROOTS[5], ROOTS[4], [])
    assert not merkle.verify_consistency(3, 5, ROOTS[3], ROOTS[5], [])


@given(st.integers(min_value=1, max_value=70), st.data())
def test_every_generated_proof_verifies(size: int, data: st.DataObject) -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(size)]
    root = merkle.root(leaves)
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    assert merkle.verify_inclusion(leaves[index], index, size, merkle.inclusion_proof(leaves, index), root)
    first = data.draw(st.integers(min_value=0, max_value=size))
    proof = merkle.consistency_proof(leaves, first)
    assert merkle.verify_consistency(first, size, merkle.root(leaves[:first]), root, proof)
