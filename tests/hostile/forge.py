"""Signatures and tokens as an attacker would make them: valid structure, something wrong.

Everything is built by hand (no PyJWT on the signing side), so the header can say anything:
``alg: none``, HS256 keyed with the shop's public key, ``b64: true``, a ``crit`` the app does not
expect, duplicate keys. ``sign_detached`` with ``Saleor``'s usual header reproduces what Saleor sends
(tests check that a proper one verifies, so a forgery refused is refused for its flaw).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.support.saleor_fake import SigningKey

SALEOR_HEADER_BASE: dict[str, Any] = {"alg": "RS256", "b64": False, "crit": ["b64"]}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def header_segment(header: dict[str, Any] | str) -> str:
    """A JWS header; a ``str`` is sent as is (duplicate keys, broken JSON)."""
    text = header if isinstance(header, str) else json.dumps(header, separators=(",", ":"))
    return b64url(text.encode())


def rsa_sign(key: rsa.RSAPrivateKey, message: bytes, alg: str = "RS256") -> bytes:
    if alg == "PS256":
        return key.sign(
            message,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32),
            hashes.SHA256(),
        )
    digest: hashes.HashAlgorithm = hashes.SHA512() if alg == "RS512" else hashes.SHA256()
    return key.sign(message, padding.PKCS1v15(), digest)


def sign_detached(
    key: rsa.RSAPrivateKey,
    body: bytes,
    header: dict[str, Any] | str,
    *,
    alg: str = "RS256",
    encoded_payload: bool = False,
) -> str:
    """``header..signature`` over ``header.body`` (or ``header.b64url(body)`` if encoded)."""
    head = header_segment(header)
    payload = b64url(body).encode() if encoded_payload else body
    return f"{head}..{b64url(rsa_sign(key, head.encode() + b'.' + payload, alg))}"


def hmac_detached(secret: bytes, body: bytes, header: dict[str, Any]) -> str:
    """HS256 keyed with ``secret`` (the classic confusion: the shop's public key as HMAC key)."""
    head = header_segment(header)
    mac = hmac.new(secret, head.encode() + b"." + body, hashlib.sha256).digest()
    return f"{head}..{b64url(mac)}"


def compact_jws(key: rsa.RSAPrivateKey, body: bytes, header: dict[str, Any]) -> str:
    """A complete (not detached) JWS: ``header.payload.signature``."""
    head, payload = header_segment(header), b64url(body)
    return f"{head}.{payload}.{b64url(rsa_sign(key, f'{head}.{payload}'.encode()))}"


def jwt_token(
    key: rsa.RSAPrivateKey | None,
    claims: dict[str, Any] | str,
    header: dict[str, Any] | str,
    *,
    alg: str = "RS256",
    hmac_secret: bytes | None = None,
) -> str:
    """A compact JWT; ``key=None`` and no ``hmac_secret``: an empty signature (``alg: none``)."""
    head = header_segment(header)
    text = claims if isinstance(claims, str) else json.dumps(claims, separators=(",", ":"))
    signing_input = f"{head}.{b64url(text.encode())}".encode()
    if hmac_secret is not None:
        signature = b64url(hmac.new(hmac_secret, signing_input, hashlib.sha256).digest())
    elif key is None:
        signature = ""
    else:
        signature = b64url(rsa_sign(key, signing_input, alg))
    return f"{signing_input.decode()}.{signature}"


def public_key_secrets(key: SigningKey) -> list[bytes]:
    """What a confused verifier might use as an HMAC key: the public key in its usual forms."""
    from cryptography.hazmat.primitives import serialization

    public = key.private_key.public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return [pem, json.dumps(key.public_jwk).encode(), str(key.public_jwk["n"]).encode()]
