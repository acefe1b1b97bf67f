"""Cost of signing and verifying one casegate access token, per algorithm (joserfc).

Run: uv run python bench/signing.py   (prints microseconds per operation, one run, side by side)
"""

import time

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

CLAIMS = {"iss": "https://127.0.0.1:8443", "sub": "cityservices-api@casegate",
          "aud": "https://127.0.0.1:8443/prweb/api", "client_id": "12345678901234567890",
          "iat": 1, "exp": 3601, "jti": "abcdefghijklmnopqrstuv", "scope": "cases casetypes"}


def per_op(fn: object, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()  # type: ignore[operator]
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    keys = {"ES256": ECKey.generate_key("P-256"), "RS256": RSAKey.generate_key(2048)}
    for _ in range(2):  # two passes: the second is the one to read on a noisy machine
        for alg, key in keys.items():
            header = {"alg": alg, "typ": "at+jwt", "kid": "k"}
            token = jwt.encode(header, CLAIMS, key)
            sign = per_op(lambda: jwt.encode(header, CLAIMS, key), 2000)  # noqa: B023
            verify = per_op(lambda: jwt.decode(token, key, algorithms=[alg]), 2000)  # noqa: B023
            print(f"{alg}: sign {sign:7.1f} us  verify {verify:7.1f} us  "
                  f"sign + 20 verifies {sign + 20 * verify:8.1f} us  token {len(token)} bytes")


if __name__ == "__main__":
    main()
