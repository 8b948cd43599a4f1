"""Verification of what Saleor signs: webhook bodies and Dashboard tokens. PURE: no I/O, no clock.

Webhooks carry ``Saleor-Signature``, a detached JWS with an unencoded payload (RFC 7797):
``BASE64URL(header) + ".." + BASE64URL(signature)``; the signing input is ``BASE64URL(header) + "."``
followed by the raw body bytes. Saleor signs with RS256 and the key it serves at
``<origin>/.well-known/jwks.json`` (kid = RFC 7638 thumbprint); see ``saleor/core/jwt_manager.py``.

Rules (fail closed): the algorithm is pinned to RS256 whatever the header says; the header must
declare ``b64: false`` as critical, exactly as Saleor does; only RSA keys of at least 2048 bits are
used; every path that is not a verified signature raises. Nothing here returns "maybe".
"""

from __future__ import annotations

import base64
import binascii
import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Final

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey, RSAPublicNumbers

from saleor_gordon.errors import WebhookRejected
from saleor_gordon.json_text import parse_json

SIGNATURE_VERIFICATION_FAILED: Final = "SIGNATURE_VERIFICATION_FAILED"
ALGORITHM: Final = "RS256"
MIN_KEY_BITS: Final = 2048
_MAX_TOKEN_CHARS: Final = 16_384
_DETACHED_JWS = re.compile(r"[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+")
_COMPACT_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


class SignatureInvalid(WebhookRejected):
    """The signature does not verify against the JWKS of the Saleor it claims to come from."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(
            SIGNATURE_VERIFICATION_FAILED,
            message or (type(self).__doc__ or "").strip(),
            status_hint=401,
        )


class SignatureKeyUnknown(SignatureInvalid):
    """The signature names a key id that is not in the JWKS; fetching the JWKS again may help.

    A subclass of SignatureInvalid so that code which only rejects still fails closed; catch it
    first to decide on a JWKS refetch.
    """


class SignatureMismatch(SignatureInvalid):
    """A well-formed RS256 signature by a known key id that does not match the body.

    Either the body was changed, or Saleor re-used a key id for a new key; only the second is
    helped by a JWKS refetch, which the caller may try once.
    """

    def __init__(self) -> None:
        super().__init__("The signature does not match the body.")


def verify_webhook_signature(body: bytes, signature: str, jwks: Mapping[str, object]) -> None:
    """Return only if ``signature`` is Saleor's detached RS256 JWS over exactly ``body``."""
    if len(signature) > _MAX_TOKEN_CHARS or not _DETACHED_JWS.fullmatch(signature):
        raise SignatureInvalid("The signature is not a detached JWS (header..signature).")
    header_segment, _, signature_segment = signature.partition("..")
    key = _key_for(_webhook_header(header_segment), jwks)
    signature_bytes = _b64url_decode(signature_segment)
    # RFC 7797 with b64=false: the signing input is the encoded header, ".", the raw body.
    # Verified here rather than by PyJWT, whose base64 checks cost more than the RSA check.
    signing_input = header_segment.encode("ascii") + b"." + body
    try:
        key.verify(signature_bytes, signing_input, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as exc:
        raise SignatureMismatch from exc


def verify_dashboard_token(
    token: str,
    jwks: Mapping[str, object],
    *,
    saleor_api_url: str,
    app_id: str,
    now: datetime,
) -> dict[str, object]:
    """Return the claims of a Dashboard token issued by ``saleor_api_url`` for ``app_id``.

    Checks the RS256 signature, ``exp`` (and ``nbf`` if present) against ``now``, ``iss`` and the
    ``app`` claim. Raises SignatureKeyUnknown or SignatureInvalid otherwise.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if len(token) > _MAX_TOKEN_CHARS or not _COMPACT_JWT.fullmatch(token):
        raise SignatureInvalid("The Dashboard token is not a JWT.")
    header = _decode_header(token.split(".", 1)[0])
    if header.get("alg") != ALGORITHM or "crit" in header or "b64" in header:
        raise SignatureInvalid("The Dashboard token is not an RS256 JWT.")
    key = _key_for(header, jwks)
    claims = _decode_claims(token, key)
    _check_dashboard_claims(claims, saleor_api_url=saleor_api_url, app_id=app_id, now=now)
    return claims


def signature_key_id(signature: str) -> str | None:
    """The ``kid`` a JWS/JWT header names, unverified; None when there is none to read."""
    if len(signature) > _MAX_TOKEN_CHARS:
        return None
    try:
        kid = _decode_header(signature.split(".", 1)[0]).get("kid")
    except SignatureInvalid:
        return None
    return kid if isinstance(kid, str) and kid else None


def load_jwks_keys(jwks: Mapping[str, object]) -> dict[str, RSAPublicKey]:
    """The RSA verification keys of a JWKS by ``kid``; SignatureInvalid if it is not a usable JWKS."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise SignatureInvalid("The JWKS has no keys.")
    loaded: dict[str, RSAPublicKey] = {}
    for jwk in keys:
        kid, key = _load_rsa_jwk(jwk)
        if kid in loaded:
            raise SignatureInvalid("The JWKS lists a key id twice.")
        loaded[kid] = key
    return loaded


def _load_rsa_jwk(jwk: object) -> tuple[str, RSAPublicKey]:
    if not isinstance(jwk, Mapping):
        raise SignatureInvalid("A JWKS entry is not an object.")
    kid, n, e = jwk.get("kid"), jwk.get("n"), jwk.get("e")
    if not (isinstance(kid, str) and isinstance(n, str) and isinstance(e, str)):
        raise SignatureInvalid("A JWKS entry is not an RSA key with kid, n and e.")
    if jwk.get("kty") != "RSA" or not (kid and n and e):
        raise SignatureInvalid("A JWKS entry is not an RSA key with kid, n and e.")
    if jwk.get("alg", ALGORITHM) != ALGORITHM or jwk.get("use", "sig") != "sig":
        raise SignatureInvalid("A JWKS entry is not meant for RS256 signatures.")
    key_ops = jwk.get("key_ops", ["verify"])
    if not isinstance(key_ops, list) or "verify" not in key_ops:
        raise SignatureInvalid("A JWKS entry is not meant for verifying.")
    return kid, _rsa_public_key(n, e)


@functools.lru_cache(maxsize=256)
def _rsa_public_key(n: str, e: str) -> RSAPublicKey:
    """The key of base64url ``n`` and ``e`` (cached: every webhook of a shop uses the same one)."""
    try:
        modulus = int.from_bytes(_b64url_decode(n), "big")
        exponent = int.from_bytes(_b64url_decode(e), "big")
        key = RSAPublicNumbers(exponent, modulus).public_key()
    except (ValueError, SignatureInvalid) as exc:
        raise SignatureInvalid("A JWKS entry is not a valid RSA public key.") from exc
    if key.key_size < MIN_KEY_BITS:
        raise SignatureInvalid(f"A JWKS key is shorter than {MIN_KEY_BITS} bits.")
    return key


def _key_for(header: Mapping[str, object], jwks: Mapping[str, object]) -> RSAPublicKey:
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise SignatureInvalid("The signature header names no key id.")
    key = load_jwks_keys(jwks).get(kid)
    if key is None:
        raise SignatureKeyUnknown(f"The signing key {kid!r} is not in the JWKS.")
    return key


@functools.lru_cache(maxsize=64)
def _webhook_header(segment: str) -> Mapping[str, object]:
    """The checked header of a webhook signature (cached: a Saleor signs every webhook with the
    same header while its key stays the same; a failed check is not cached and fails again)."""
    header = _decode_header(segment)
    _check_webhook_header(header)
    return MappingProxyType(header)


def _check_webhook_header(header: Mapping[str, object]) -> None:
    if header.get("alg") != ALGORITHM:
        raise SignatureInvalid("The signature is not RS256.")
    if header.get("b64") is not False or header.get("crit") != ["b64"]:
        raise SignatureInvalid("The signature is not a detached JWS with an unencoded payload.")


def _decode_claims(token: str, key: RSAPublicKey) -> dict[str, object]:
    options: jwt.types.Options = {
        "verify_exp": False,  # checked against the caller's `now` below
        "verify_nbf": False,
        "verify_iat": False,
        "verify_aud": False,  # the manifest sets no audience
        "verify_iss": False,
    }
    try:
        claims = jwt.decode(token, key=key, algorithms=[ALGORITHM], options=options)
    except (
        jwt.PyJWTError,
        ValueError,
        TypeError,
    ) as exc:  # PyJWT also refuses claims that are not an object
        raise SignatureInvalid("The Dashboard token signature does not verify.") from exc
    return claims


def _check_dashboard_claims(
    claims: Mapping[str, object], *, saleor_api_url: str, app_id: str, now: datetime
) -> None:
    moment = now.timestamp()
    exp = _as_number(claims.get("exp"))
    if exp is None or exp <= moment:
        raise SignatureInvalid("The Dashboard token has expired.")
    if "nbf" in claims:
        nbf = _as_number(claims["nbf"])
        if nbf is None or nbf > moment:
            raise SignatureInvalid("The Dashboard token is not valid yet.")
    if claims.get("iss") != saleor_api_url:
        raise SignatureInvalid("The Dashboard token was issued by another Saleor.")
    if claims.get("app") != app_id:
        raise SignatureInvalid("The Dashboard token was issued for another app.")


def _as_number(value: object) -> float | None:
    """A claim's finite number; None otherwise (NaN or Infinity, which Python's JSON reads, would
    compare as never expired)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _decode_header(segment: str) -> dict[str, object]:
    try:
        header = parse_json(_b64url_decode(segment), object_pairs_hook=_no_duplicate_keys)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SignatureInvalid("The signature header is not base64url-encoded JSON.") from exc
    if not isinstance(header, dict):
        raise SignatureInvalid("The signature header is not a JSON object.")
    return header


def _no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate key in JWS header")
    return result


def _b64url_decode(segment: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise SignatureInvalid("A base64url segment is malformed.") from exc
