"""The keyed hash client secrets are stored and checked as: HMAC-SHA-256 (RFC 4231's test
vectors), the same for every call and every key however many keys a process has seen."""

from casegate import crypto

# RFC 4231 §4.2 and §4.3 (test cases 1 and 2)
CASES = [
    (b"\x0b" * 20, "Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", "what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
]


def test_keyed_hash_is_hmac_sha256() -> None:
    for _ in range(2):  # the second time from the key kept
        for key, message, expected in CASES:
            assert crypto.keyed_hash(key, message) == expected


def test_many_keys_each_keep_their_own_hash() -> None:
    keys = [bytes([n]) * 32 for n in range(20)]  # more than the process keeps keyed
    first = [crypto.keyed_hash(key, "secret") for key in keys]
    assert len(set(first)) == len(keys)
    assert [crypto.keyed_hash(key, "secret") for key in keys] == first
    assert crypto.keyed_hash(CASES[1][0], CASES[1][1]) == CASES[1][2]


def test_token_ids_are_128_random_bits_base64url() -> None:
    ids = {crypto.token_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 22 and set(i) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for i in ids)
