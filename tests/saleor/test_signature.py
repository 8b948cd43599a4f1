"""verify_webhook_signature, verify_dashboard_token and JWKS parsing against real samples."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from saleor_gordon.errors import WebhookRejected
from saleor_gordon.saleor.signature import (
    SIGNATURE_VERIFICATION_FAILED,
    SignatureInvalid,
    SignatureKeyUnknown,
    SignatureMismatch,
    load_jwks_keys,
    signature_key_id,
    verify_dashboard_token,
    verify_webhook_signature,
)
from tests.support.saleor_fake import SigningKey, rfc7638_thumbprint

SAMPLE_KID = "ih_9LsUfCrdgC6VsNaVmbYYYlVR2OM6dMEONjXUZl-Q"
NOT_DETACHED = "The signature is not a detached JWS (header..signature)."
NOT_JSON = "The signature header is not base64url-encoded JSON."
NOT_RS256 = "The signature is not RS256."
NOT_UNENCODED = "The signature is not a detached JWS with an unencoded payload."
NO_KID = "The signature header names no key id."


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def detached(header: dict[str, Any], signature: bytes = b"\x01" * 256) -> str:
    return b64url(json.dumps(header).encode()) + ".." + b64url(signature)


# What Saleor's JWTManager.jws_encode puts in the header (besides the kid).
SALEOR_HEADER: dict[str, Any] = {"alg": "RS256", "b64": False, "crit": ["b64"]}
_HASHES: dict[str, tuple[hashes.HashAlgorithm, bool]] = {  # alg -> (hash, PSS padding?)
    "RS384": (hashes.SHA384(), False),
    "RS512": (hashes.SHA512(), False),
    "PS256": (hashes.SHA256(), True),
}


def rsa_sign(key: SigningKey, data: bytes, alg: str = "RS256") -> bytes:
    """A real signature of ``data`` with ``key``, by ``alg`` (RS256 for names it does not know)."""
    digest, pss = _HASHES.get(alg, (hashes.SHA256(), False))
    scheme: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(digest), salt_length=digest.digest_size)
        if pss
        else padding.PKCS1v15()
    )
    return key.private_key.sign(data, scheme, digest)


def signed_detached(key: SigningKey, body: bytes, header: dict[str, Any], raw: str = "") -> str:
    """A detached JWS over ``body`` under exactly ``header``, validly signed by ``key``.

    The signing input follows the header as a JWS library would: the raw body when it says
    ``b64: false`` (RFC 7797), the base64url body otherwise (RFC 7515); ``raw`` is the header's exact
    text when it must be JSON a dict cannot hold (a key twice). So only the rule under test
    can refuse it: without the rule, either it would verify or PyJWT's own refusal would surface as a
    SignatureMismatch, which asks for a JWKS refetch.
    """
    segment = b64url((raw or json.dumps(header, separators=(",", ":"))).encode())
    payload = body if header.get("b64", True) is False else b64url(body).encode()
    signature = rsa_sign(key, segment.encode() + b"." + payload, str(header.get("alg")))
    return f"{segment}..{b64url(signature)}"


def signed_jwt(key: SigningKey, claims: dict[str, Any], header: dict[str, Any]) -> str:
    """A compact JWS of ``claims`` under exactly ``header``, validly signed by ``key``."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims).encode())
    )
    signature = rsa_sign(key, signing_input.encode(), str(header.get("alg")))
    return f"{signing_input}.{b64url(signature)}"


def rejection(call: Any, *args: Any, **kwargs: Any) -> SignatureInvalid:
    """The SignatureInvalid (or subclass) that ``call`` raises."""
    with pytest.raises(SignatureInvalid) as caught:
        call(*args, **kwargs)
    return caught.value


def webhook_samples(samples_dir: Path) -> list[tuple[bytes, str]]:
    samples = []
    for folder in sorted(samples_dir.glob("s*/*/")):
        headers = json.loads((folder / "headers.json").read_text())
        samples.append(((folder / "body.raw").read_bytes(), headers["Saleor-Signature"]))
    return samples


@pytest.fixture(scope="module")
def sample_jwks(samples_dir: Path) -> dict[str, Any]:
    jwks: dict[str, Any] = json.loads((samples_dir / "jwks.json").read_bytes())
    return jwks


@pytest.fixture(scope="module")
def first_sample(samples_dir: Path) -> tuple[bytes, str]:
    return webhook_samples(samples_dir)[0]


@pytest.fixture(scope="module")
def recorded(samples_dir: Path) -> dict[str, Any]:
    """samples/dashboard_token.json: a real Dashboard token with its decoded claims."""
    data: dict[str, Any] = json.loads((samples_dir / "dashboard_token.json").read_text())
    return data


@pytest.fixture(scope="module")
def other_saleor_key() -> SigningKey:
    return SigningKey.generate()


class TestVerifyWebhookSignature:
    """Tests for verify_webhook_signature()."""

    def test_every_recorded_webhook_verifies(
        self, samples_dir: Path, sample_jwks: dict[str, Any]
    ) -> None:
        """All 31 bodies Saleor signed verify against its JWKS."""
        samples = webhook_samples(samples_dir)

        for body, signature in samples:
            verify_webhook_signature(body, signature, sample_jwks)
        assert len(samples) == 31

    def test_every_body_changed_by_one_byte_is_rejected(
        self, samples_dir: Path, sample_jwks: dict[str, Any]
    ) -> None:
        """Flipping one bit anywhere (first, middle, last byte) breaks the signature."""
        for body, signature in webhook_samples(samples_dir):
            for index in (0, len(body) // 2, len(body) - 1):
                tampered = bytearray(body)
                tampered[index] ^= 0x01
                with pytest.raises(SignatureInvalid) as caught:
                    verify_webhook_signature(bytes(tampered), signature, sample_jwks)
                assert type(caught.value) is SignatureMismatch

    def test_reserialised_body_is_rejected(
        self, first_sample: tuple[bytes, str], sample_jwks: dict[str, Any]
    ) -> None:
        """Verification is over the raw bytes, never re-serialised JSON."""
        body, signature = first_sample
        reserialised = json.dumps(json.loads(body), ensure_ascii=False).encode()

        with pytest.raises(SignatureInvalid):
            verify_webhook_signature(reserialised, signature, sample_jwks)

    def test_unknown_kid(
        self, first_sample: tuple[bytes, str], other_saleor_key: SigningKey
    ) -> None:
        """A JWKS without the signing kid asks for a refetch."""
        body, signature = first_sample
        other_jwks = {"keys": [other_saleor_key.public_jwk]}

        with pytest.raises(SignatureKeyUnknown):
            verify_webhook_signature(body, signature, other_jwks)

    def test_other_saleors_key_is_rejected(
        self,
        first_sample: tuple[bytes, str],
        sample_jwks: dict[str, Any],
        other_saleor_key: SigningKey,
    ) -> None:
        """Signed by shop A, checked against shop B's JWKS: unknown key."""
        body, _ = first_sample
        signature = other_saleor_key.sign_detached(body)

        with pytest.raises(SignatureKeyUnknown):
            verify_webhook_signature(body, signature, sample_jwks)

    def test_other_key_claiming_the_known_kid_is_rejected(
        self,
        first_sample: tuple[bytes, str],
        sample_jwks: dict[str, Any],
        other_saleor_key: SigningKey,
    ) -> None:
        """A forger who copies the kid still cannot sign."""
        body, _ = first_sample
        signature = jwt.api_jws.encode(
            body,
            other_saleor_key.private_key,
            algorithm="RS256",
            headers={"kid": SAMPLE_KID, "crit": ["b64"]},
            is_payload_detached=True,
        )

        with pytest.raises(SignatureInvalid) as caught:
            verify_webhook_signature(body, signature, sample_jwks)
        assert type(caught.value) is SignatureMismatch

    def test_hs256_with_the_public_key_as_secret_is_rejected(
        self, first_sample: tuple[bytes, str], sample_jwks: dict[str, Any]
    ) -> None:
        """The classic algorithm-confusion attack: HMAC keyed with the public key."""
        body, _ = first_sample
        public_key = load_jwks_keys(sample_jwks)[SAMPLE_KID]
        pem = public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        header = {"alg": "HS256", "b64": False, "crit": ["b64"], "kid": SAMPLE_KID}
        header_segment = b64url(json.dumps(header).encode())
        for secret in (pem, json.dumps(sample_jwks["keys"][0]).encode()):
            mac = hmac.new(secret, header_segment.encode() + b"." + body, hashlib.sha256).digest()
            with pytest.raises(SignatureInvalid, match="not RS256"):
                verify_webhook_signature(body, f"{header_segment}..{b64url(mac)}", sample_jwks)

    def test_rs512_really_signed_is_rejected(
        self, first_sample: tuple[bytes, str], other_saleor_key: SigningKey
    ) -> None:
        """A valid signature with another algorithm is still refused."""
        body, _ = first_sample
        signature = jwt.api_jws.encode(
            body,
            other_saleor_key.private_key,
            algorithm="RS512",
            headers={"kid": other_saleor_key.kid, "crit": ["b64"]},
            is_payload_detached=True,
        )

        with pytest.raises(SignatureInvalid, match="not RS256"):
            verify_webhook_signature(body, signature, {"keys": [other_saleor_key.public_jwk]})

    def test_attached_payload_form_is_rejected(
        self, first_sample: tuple[bytes, str], sample_jwks: dict[str, Any]
    ) -> None:
        """header.payload.signature (payload not detached) is not what Saleor sends."""
        body, signature = first_sample
        header, _, sig = signature.partition("..")

        with pytest.raises(SignatureInvalid):
            verify_webhook_signature(body, f"{header}.{b64url(body)}.{sig}", sample_jwks)

    @pytest.mark.parametrize(
        ("signature", "message"),
        [
            ("", NOT_DETACHED),
            ("abc", NOT_DETACHED),
            ("..", NOT_DETACHED),
            ("a..", NOT_DETACHED),
            ("..b", NOT_DETACHED),
            ("a.b.c", NOT_DETACHED),
            ("a...b", NOT_DETACHED),
            ("e30..AAAA", NOT_RS256),  # {} as header
            ("W10..AAAA", "The signature header is not a JSON object."),  # [] as header
            ("bm90IGpzb24..AAAA", NOT_JSON),  # not json
            ("eyJhbGciOiJSUzI1NiJ9 ..AAAA", NOT_DETACHED),
            ("ü..AAAA", NOT_DETACHED),
            ("A" * 20_000 + "..AAAA", NOT_DETACHED),
            ("eyJhbGciOiJSUzI1NiIsImFsZyI6Im5vbmUifQ..AAAA", NOT_JSON),  # duplicate alg key
            ("A..AAAA", "A base64url segment is malformed."),
            (b64url(b"[" * 5000) + "..AAAA", NOT_JSON),  # nested too deeply for the parser
        ],
    )
    def test_malformed_signatures_are_rejected(
        self,
        signature: str,
        message: str,
        first_sample: tuple[bytes, str],
        sample_jwks: dict[str, Any],
    ) -> None:
        """Anything that is not a well-formed detached JWS fails closed, saying what is wrong."""
        body, _ = first_sample

        error = rejection(verify_webhook_signature, body, signature, sample_jwks)

        assert (type(error), error.message) == (SignatureInvalid, message)

    def test_truncated_signature_is_rejected(
        self, first_sample: tuple[bytes, str], sample_jwks: dict[str, Any]
    ) -> None:
        """A signature segment cut short does not verify."""
        body, signature = first_sample

        with pytest.raises(SignatureInvalid):
            verify_webhook_signature(body, signature[:-8], sample_jwks)

    def test_rejection_carries_code_and_status(
        self, first_sample: tuple[bytes, str], sample_jwks: dict[str, Any]
    ) -> None:
        """The web layer answers 401 SIGNATURE_VERIFICATION_FAILED."""
        body, signature = first_sample

        with pytest.raises(WebhookRejected) as caught:
            verify_webhook_signature(body + b" ", signature, sample_jwks)
        assert (caught.value.code, caught.value.status_hint) == (SIGNATURE_VERIFICATION_FAILED, 401)
        assert SignatureKeyUnknown("x").code == SIGNATURE_VERIFICATION_FAILED


@pytest.fixture(scope="module")
def key() -> SigningKey:
    """A real Saleor-like RSA key for signing crafted headers."""
    return SigningKey.generate()


@pytest.fixture(scope="module")
def jwks(key: SigningKey) -> dict[str, Any]:
    return {"keys": [key.public_jwk]}


BODY = b'{"order": {"id": "T3JkZXI6MQ==", "number": "45"}}'


class TestWebhookHeaderRules:
    """Each header rule, applied to a signature that is otherwise valid: real RSA, right key, right body.

    The error class is asserted exactly: SignatureKeyUnknown and SignatureMismatch make the web layer
    refetch the JWKS (web/webhooks.py), a plain SignatureInvalid does not.
    """

    def test_saleors_header_signed_here_verifies(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """The control: the crafted signer makes signatures that pass, so each refusal below is the rule's."""
        verify_webhook_signature(
            BODY, signed_detached(key, BODY, SALEOR_HEADER | {"kid": key.kid}), jwks
        )
        verify_webhook_signature(BODY, key.sign_detached(BODY), jwks)

    def test_a_header_checked_once_decides_again_for_every_signature(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """The checked header is kept between webhooks (they share it): a refused header is
        refused every time, and a kept one still has every signature checked over its body."""
        refused = SALEOR_HEADER | {"alg": "RS512", "kid": key.kid}
        for _ in range(2):
            error = rejection(
                verify_webhook_signature, BODY, signed_detached(key, BODY, refused), jwks
            )
            assert (type(error), error.message) == (SignatureInvalid, NOT_RS256)
        header = SALEOR_HEADER | {"kid": key.kid}
        verify_webhook_signature(BODY, signed_detached(key, BODY, header), jwks)
        other_body = BODY + b" "
        error = rejection(
            verify_webhook_signature, other_body, signed_detached(key, BODY, header), jwks
        )
        assert type(error) is SignatureMismatch
        verify_webhook_signature(other_body, signed_detached(key, other_body, header), jwks)

    @pytest.mark.parametrize(
        "alg", ["RS512", "RS384", "PS256", "rs256", "RS256 ", "none", "", None, 256]
    )
    def test_alg_other_than_rs256_is_invalid(
        self, alg: object, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """Pinned to RS256 whatever the header says, even when the signature is real for that alg."""
        header = SALEOR_HEADER | {"alg": alg, "kid": key.kid}

        error = rejection(verify_webhook_signature, BODY, signed_detached(key, BODY, header), jwks)

        assert (type(error), error.message) == (SignatureInvalid, NOT_RS256)

    def test_missing_alg_is_invalid(self, key: SigningKey, jwks: dict[str, Any]) -> None:
        header = {"b64": False, "crit": ["b64"], "kid": key.kid}

        error = rejection(verify_webhook_signature, BODY, signed_detached(key, BODY, header), jwks)

        assert (type(error), error.message) == (SignatureInvalid, NOT_RS256)

    @pytest.mark.parametrize(
        "changes",
        [
            {"b64": None},
            {"b64": True},
            {"b64": "false"},
            {"b64": 0},
            {"crit": None},
            {"crit": []},
            {"crit": "b64"},
            {"crit": ["b64", "exp"]},
            {"crit": ["exp"]},
            {"b64": None, "crit": None},
        ],
        ids=repr,
    )
    def test_b64_false_must_be_declared_critical_exactly(
        self, changes: dict[str, Any], key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """b64 is exactly false and crit exactly ["b64"], as Saleor sends (None: the key is absent)."""
        header = {
            name: value
            for name, value in (SALEOR_HEADER | {"kid": key.kid} | changes).items()
            if value is not None
        }

        error = rejection(verify_webhook_signature, BODY, signed_detached(key, BODY, header), jwks)

        assert (type(error), error.message) == (SignatureInvalid, NOT_UNENCODED)

    @pytest.mark.parametrize("kid", [None, "", 7, ["k"]], ids=repr)
    def test_no_usable_kid_is_invalid_not_a_reason_to_refetch(
        self, kid: object, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """Without a key id no JWKS can help: a plain SignatureInvalid (None: the key is absent)."""
        header = SALEOR_HEADER | ({} if kid is None else {"kid": kid})

        error = rejection(verify_webhook_signature, BODY, signed_detached(key, BODY, header), jwks)

        assert (type(error), error.message) == (SignatureInvalid, NO_KID)

    def test_a_header_naming_a_key_twice_is_refused_even_when_signed(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """{"alg": "none", "alg": "RS256"}: parsers disagree on which wins, so neither does."""
        raw = f'{{"alg":"none","alg":"RS256","b64":false,"crit":["b64"],"kid":"{key.kid}"}}'
        signature = signed_detached(key, BODY, SALEOR_HEADER | {"kid": key.kid}, raw=raw)

        error = rejection(verify_webhook_signature, BODY, signature, jwks)

        assert (type(error), error.message) == (SignatureInvalid, NOT_JSON)

    def test_the_longest_accepted_signature_is_checked_not_refused_for_its_length(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """16 384 characters are verified (here: a mismatch); one more is refused unread."""
        head = signed_detached(key, BODY, SALEOR_HEADER | {"kid": key.kid}).split("..")[0] + ".."
        longest = head + "A" * (16_384 - len(head))

        assert type(rejection(verify_webhook_signature, BODY, longest, jwks)) is SignatureMismatch
        error = rejection(verify_webhook_signature, BODY, longest + "A", jwks)
        assert (type(error), error.message) == (SignatureInvalid, NOT_DETACHED)

    def test_the_default_message_is_the_docstring(self) -> None:
        assert SignatureInvalid().message == (
            "The signature does not verify against the JWKS of the Saleor it claims to come from."
        )

    def test_kid_not_in_the_jwks_is_unknown(self, key: SigningKey) -> None:
        """A valid signature by a key the cached JWKS lacks: SignatureKeyUnknown (refetch)."""
        other = {"keys": [SigningKey.generate().public_jwk]}
        signature = signed_detached(key, BODY, SALEOR_HEADER | {"kid": key.kid})

        error = rejection(verify_webhook_signature, BODY, signature, other)

        assert (type(error), error.message) == (
            SignatureKeyUnknown,
            f"The signing key {key.kid!r} is not in the JWKS.",
        )

    def test_known_kid_with_a_changed_body_is_a_mismatch(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        """Every header rule holds, the body differs: SignatureMismatch (a refetch may help once)."""
        signature = signed_detached(key, BODY, SALEOR_HEADER | {"kid": key.kid})

        error = rejection(verify_webhook_signature, BODY + b" ", signature, jwks)

        assert (type(error), error.message) == (
            SignatureMismatch,
            "The signature does not match the body.",
        )

    def test_signature_by_another_key_under_the_known_kid_is_a_mismatch(
        self, key: SigningKey, jwks: dict[str, Any]
    ) -> None:
        signature = signed_detached(SigningKey.generate(), BODY, SALEOR_HEADER | {"kid": key.kid})

        error = rejection(verify_webhook_signature, BODY, signature, jwks)

        assert type(error) is SignatureMismatch


class TestDashboardTokenHeaderRules:
    """verify_dashboard_token's header rules, each on an otherwise valid token."""

    NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)
    ISS = "http://saleor.test/graphql/"
    APP = "QXBwOjE="

    def claims(self) -> dict[str, Any]:
        now = int(self.NOW.timestamp())
        return {"iat": now, "exp": now + 300, "iss": self.ISS, "app": self.APP}

    def verify(self, token: str, key: SigningKey) -> dict[str, object]:
        return verify_dashboard_token(
            token,
            {"keys": [key.public_jwk]},
            saleor_api_url=self.ISS,
            app_id=self.APP,
            now=self.NOW,
        )

    def test_plain_rs256_header_verifies(self, key: SigningKey) -> None:
        """The control for the cases below."""
        token = signed_jwt(key, self.claims(), {"alg": "RS256", "kid": key.kid, "typ": "JWT"})

        assert self.verify(token, key) == self.claims()

    @pytest.mark.parametrize(
        "changes",
        [{"alg": "RS512"}, {"alg": "PS256"}, {"alg": None}, {"crit": ["exp"]}, {"b64": True}],
        ids=repr,
    )
    def test_header_unlike_saleors_is_invalid(
        self, changes: dict[str, Any], key: SigningKey
    ) -> None:
        """Only alg RS256, no crit, no b64 (None: the key is absent)."""
        header = {
            name: value
            for name, value in ({"alg": "RS256", "kid": key.kid} | changes).items()
            if value is not None
        }

        error = rejection(self.verify, signed_jwt(key, self.claims(), header), key)

        assert (type(error), error.message) == (
            SignatureInvalid,
            "The Dashboard token is not an RS256 JWT.",
        )

    @pytest.mark.parametrize("token", ["a.b", "a.b.c.d", "a..c", "ü.b.c", "a.b.c "], ids=repr)
    def test_a_token_that_is_not_a_compact_jwt(self, token: str, key: SigningKey) -> None:
        error = rejection(self.verify, token, key)

        assert (type(error), error.message) == (
            SignatureInvalid,
            "The Dashboard token is not a JWT.",
        )

    def test_the_longest_accepted_token_is_checked_not_refused_for_its_length(
        self, key: SigningKey
    ) -> None:
        """16 384 characters are verified (here: the signature fails); one more is refused unread."""
        head = signed_jwt(key, self.claims(), {"alg": "RS256", "kid": key.kid}).rsplit(".", 1)[0]
        longest = head + "." + "A" * (16_384 - len(head) - 1)

        assert rejection(self.verify, longest, key).message == (
            "The Dashboard token signature does not verify."
        )
        assert rejection(self.verify, longest + "A", key).message == (
            "The Dashboard token is not a JWT."
        )

    def test_no_kid_is_invalid(self, key: SigningKey) -> None:
        error = rejection(self.verify, signed_jwt(key, self.claims(), {"alg": "RS256"}), key)

        assert (type(error), error.message) == (SignatureInvalid, NO_KID)


CLAIMS_NOW = datetime(2031, 3, 1, 12, tzinfo=UTC)
MOMENT = int(CLAIMS_NOW.timestamp())
ABSENT = "(absent)"


class TestDashboardTokenClaims:
    """verify_dashboard_token's claim rules, each on a token validly signed by a known key.

    ``now`` is far from the real clock, so a check PyJWT made against the real clock would show.
    """

    NOW = CLAIMS_NOW
    ISS = "http://saleor.test/graphql/"
    APP = "QXBwOjE="

    def claims(self, **changes: Any) -> dict[str, Any]:
        return {"iat": MOMENT, "exp": MOMENT + 300, "iss": self.ISS, "app": self.APP} | changes

    def verify(self, claims: dict[str, Any], key: SigningKey) -> dict[str, object]:
        token = signed_jwt(key, claims, {"alg": "RS256", "kid": key.kid})
        return verify_dashboard_token(
            token,
            {"keys": [key.public_jwk]},
            saleor_api_url=self.ISS,
            app_id=self.APP,
            now=self.NOW,
        )

    def message(self, claims: dict[str, Any], key: SigningKey) -> str:
        error = rejection(self.verify, claims, key)
        assert type(error) is SignatureInvalid
        return error.message

    def test_claims_judged_by_the_given_now_only(self, key: SigningKey) -> None:
        """iat and nbf in the real clock's future, an audience: accepted, since now says so."""
        claims = self.claims(nbf=MOMENT, aud="someone")

        assert self.verify(claims, key) == claims
        assert self.verify(self.claims(nbf=MOMENT - 1.5), key)["nbf"] == MOMENT - 1.5

    @pytest.mark.parametrize(
        "exp", [0, -1, "soon", None, True, [1], float("nan"), float("inf")], ids=repr
    )
    def test_exp_missing_past_or_not_a_number_is_expired(
        self, exp: object, key: SigningKey
    ) -> None:
        moment = int(self.NOW.timestamp())
        claims = self.claims(exp=moment if exp == 0 else moment - 1 if exp == -1 else exp)
        if exp is None:
            del claims["exp"]

        assert self.message(claims, key) == "The Dashboard token has expired."

    @pytest.mark.parametrize(
        "nbf", [MOMENT + 1, MOMENT + 0.5, "now", None, True, float("nan")], ids=repr
    )
    def test_nbf_in_the_future_or_not_a_number_is_not_valid_yet(
        self, nbf: object, key: SigningKey
    ) -> None:
        claims = self.claims(nbf=nbf)

        assert self.message(claims, key) == "The Dashboard token is not valid yet."

    def test_other_issuer(self, key: SigningKey) -> None:
        message = self.message(self.claims(iss="http://other.test/graphql/"), key)

        assert message == "The Dashboard token was issued by another Saleor."

    def test_other_app(self, key: SigningKey) -> None:
        message = self.message(self.claims(app="QXBwOjI="), key)

        assert message == "The Dashboard token was issued for another app."

    def test_signature_by_another_key_does_not_verify(self, key: SigningKey) -> None:
        token = signed_jwt(SigningKey.generate(), self.claims(), {"alg": "RS256", "kid": key.kid})

        error = rejection(
            verify_dashboard_token,
            token,
            {"keys": [key.public_jwk]},
            saleor_api_url=self.ISS,
            app_id=self.APP,
            now=self.NOW,
        )

        assert (type(error), error.message) == (
            SignatureInvalid,
            "The Dashboard token signature does not verify.",
        )

    def test_claims_that_are_not_an_object_do_not_verify(self, key: SigningKey) -> None:
        header = b64url(json.dumps({"alg": "RS256", "kid": key.kid}).encode())
        signing_input = f"{header}.{b64url(b'[1, 2]')}"
        token = f"{signing_input}.{b64url(rsa_sign(key, signing_input.encode()))}"

        error = rejection(
            verify_dashboard_token,
            token,
            {"keys": [key.public_jwk]},
            saleor_api_url=self.ISS,
            app_id=self.APP,
            now=self.NOW,
        )

        assert (type(error), error.message) == (
            SignatureInvalid,
            "The Dashboard token signature does not verify.",
        )


class TestLoadJwksKeys:
    """Tests for load_jwks_keys()."""

    def test_sample_jwks(self, sample_jwks: dict[str, Any]) -> None:
        """The recorded JWKS has one 2048-bit key with the documented kid."""
        keys = load_jwks_keys(sample_jwks)

        assert list(keys) == [SAMPLE_KID]
        assert keys[SAMPLE_KID].key_size == 2048

    def test_sample_kid_is_the_rfc7638_thumbprint(self, sample_jwks: dict[str, Any]) -> None:
        """The fake computes kids like Saleor."""
        jwk = sample_jwks["keys"][0]

        assert rfc7638_thumbprint(n=jwk["n"], e=jwk["e"]) == SAMPLE_KID

    def test_bad_jwks_shapes(self, sample_jwks: dict[str, Any]) -> None:
        """Everything but a list of RSA verification keys is refused, saying why."""
        good = sample_jwks["keys"][0]
        small = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - must be refused
        small_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(small.public_key())) | {
            "kid": "small"
        }
        ec_jwk = json.loads(
            jwt.algorithms.ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
        ) | {"kid": "ec"}
        not_rsa = "A JWKS entry is not an RSA key with kid, n and e."
        without = {k: v for k, v in good.items() if k != "kid"}
        bad: list[tuple[Any, str]] = [
            ({}, "The JWKS has no keys."),
            ([good], "The JWKS has no keys."),
            ({"keys": []}, "The JWKS has no keys."),
            ({"keys": "nope"}, "The JWKS has no keys."),
            ({"keys": [None]}, "A JWKS entry is not an object."),
            ({"keys": [good, good]}, "The JWKS lists a key id twice."),
            ({"keys": [ec_jwk]}, not_rsa),
            ({"keys": [small_jwk]}, "A JWKS key is shorter than 2048 bits."),
            ({"keys": [good | {"kty": "oct"}]}, not_rsa),
            ({"keys": [good | {"kid": 7}]}, not_rsa),
            ({"keys": [good | {"n": 7}]}, not_rsa),
            ({"keys": [good | {"e": 7}]}, not_rsa),
            ({"keys": [good | {"kid": ""}]}, not_rsa),
            ({"keys": [good | {"n": ""}]}, not_rsa),
            ({"keys": [good | {"e": ""}]}, not_rsa),
            (
                {"keys": [good | {"alg": "RS512"}]},
                "A JWKS entry is not meant for RS256 signatures.",
            ),
            ({"keys": [good | {"use": "enc"}]}, "A JWKS entry is not meant for RS256 signatures."),
            (
                {"keys": [good | {"key_ops": ["encrypt"]}]},
                "A JWKS entry is not meant for verifying.",
            ),
            ({"keys": [good | {"key_ops": "verify"}]}, "A JWKS entry is not meant for verifying."),
            ({"keys": [good | {"n": "!!!"}]}, "A JWKS entry is not a valid RSA public key."),
            ({"keys": [good | {"e": "AA"}]}, "A JWKS entry is not a valid RSA public key."),
            ({"keys": [without]}, not_rsa),
        ]

        for jwks, message in bad:
            error = rejection(load_jwks_keys, jwks)
            assert (type(error), error.message) == (SignatureInvalid, message), jwks

    def test_a_minimal_rsa_jwk_is_enough(self, sample_jwks: dict[str, Any]) -> None:
        """alg, use and key_ops may be left out: they default to RS256, sig and verify."""
        good = sample_jwks["keys"][0]
        minimal = {key: good[key] for key in ("kty", "kid", "n", "e")}

        assert list(load_jwks_keys({"keys": [minimal]})) == [SAMPLE_KID]

    def test_bad_jwks_fails_verification_closed(self, first_sample: tuple[bytes, str]) -> None:
        """An unusable JWKS never lets a webhook through."""
        body, signature = first_sample

        with pytest.raises(SignatureInvalid):
            verify_webhook_signature(body, signature, {"keys": [{"kty": "RSA"}]})


class TestSignatureKeyId:
    """Tests for signature_key_id()."""

    def test_reads_kid(self, first_sample: tuple[bytes, str]) -> None:
        assert signature_key_id(first_sample[1]) == SAMPLE_KID

    @pytest.mark.parametrize("signature", ["", "x..y", "e30..AAAA", "A" * 20_000])
    def test_none_when_unreadable(self, signature: str) -> None:
        assert signature_key_id(signature) is None

    @pytest.mark.parametrize("kid", [7, "", None, ["k"]], ids=repr)
    def test_none_when_the_kid_is_not_a_name(self, kid: object) -> None:
        assert signature_key_id(detached({"alg": "RS256", "kid": kid})) is None

    def test_reads_the_kid_of_a_jwt_too(self) -> None:
        header = b64url(json.dumps({"alg": "RS256", "kid": "k1"}).encode())

        assert signature_key_id(f"{header}.e30.AAAA") == "k1"

    def test_longest_accepted_signature(self) -> None:
        """16 384 characters are read; one more is not (the same bound as verification)."""
        head = detached({"kid": "k1"}, b"")
        longest = head + "A" * (16_384 - len(head))

        assert (signature_key_id(longest), signature_key_id(longest + "A")) == ("k1", None)


class TestVerifyDashboardToken:
    """Tests for verify_dashboard_token() with the recorded Dashboard token."""

    def at(self, recorded: dict[str, Any], offset: int) -> datetime:
        return datetime.fromtimestamp(recorded["claims"]["iat"] + offset, tz=UTC)

    def verify(
        self,
        recorded: dict[str, Any],
        jwks: dict[str, Any],
        *,
        token: str | None = None,
        **overrides: Any,
    ) -> dict[str, object]:
        arguments: dict[str, Any] = {
            "saleor_api_url": "http://127.0.0.1:8000/graphql/",
            "app_id": recorded["app_id"],
            "now": self.at(recorded, 100),
        } | overrides
        return verify_dashboard_token(token or recorded["token"], jwks, **arguments)

    def test_verifies_between_iat_and_exp(
        self, recorded: dict[str, Any], sample_jwks: dict[str, Any]
    ) -> None:
        """The real token is accepted inside its five minutes and yields its claims."""
        claims = self.verify(recorded, sample_jwks)

        assert claims == recorded["claims"]

    @pytest.mark.parametrize("offset", [300, 301, 10_000])
    def test_rejected_after_exp(
        self, offset: int, recorded: dict[str, Any], sample_jwks: dict[str, Any]
    ) -> None:
        with pytest.raises(SignatureInvalid, match="expired"):
            self.verify(recorded, sample_jwks, now=self.at(recorded, offset))

    def test_wrong_issuer(self, recorded: dict[str, Any], sample_jwks: dict[str, Any]) -> None:
        with pytest.raises(SignatureInvalid, match="another Saleor"):
            self.verify(recorded, sample_jwks, saleor_api_url="https://other.example.com/graphql/")

    def test_wrong_app(self, recorded: dict[str, Any], sample_jwks: dict[str, Any]) -> None:
        with pytest.raises(SignatureInvalid, match="another app"):
            self.verify(recorded, sample_jwks, app_id="QXBwOjU=")

    def test_unknown_kid(self, recorded: dict[str, Any], other_saleor_key: SigningKey) -> None:
        with pytest.raises(SignatureKeyUnknown):
            self.verify(recorded, {"keys": [other_saleor_key.public_jwk]})

    def test_tampered_claims(self, recorded: dict[str, Any], sample_jwks: dict[str, Any]) -> None:
        """Changing a claim (here: the app) breaks the signature."""
        header, _, signature = recorded["token"].split(".")
        claims = b64url(json.dumps(recorded["claims"] | {"app": "QXBwOjk="}).encode())

        with pytest.raises(SignatureInvalid, match="does not verify"):
            self.verify(
                recorded, sample_jwks, token=f"{header}.{claims}.{signature}", app_id="QXBwOjk="
            )

    def test_other_algorithms(self, recorded: dict[str, Any], sample_jwks: dict[str, Any]) -> None:
        """alg none and HS256 (public key as secret) are refused."""
        payload = b64url(json.dumps(recorded["claims"]).encode())
        none_header = b64url(json.dumps({"alg": "none", "kid": SAMPLE_KID}).encode())
        hs_header = b64url(json.dumps({"alg": "HS256", "kid": SAMPLE_KID}).encode())
        secret = json.dumps(sample_jwks["keys"][0]).encode()
        mac = hmac.new(secret, f"{hs_header}.{payload}".encode(), hashlib.sha256).digest()
        hs_token = f"{hs_header}.{payload}.{b64url(mac)}"

        for token in (f"{none_header}.{payload}.", f"{none_header}.{payload}.AAAA", hs_token):
            with pytest.raises(SignatureInvalid):
                self.verify(recorded, sample_jwks, token=token)

    def test_fake_tokens_verify(self, other_saleor_key: SigningKey) -> None:
        """The fake's Dashboard tokens (SaleorFakeState.dashboard_token) pass the same checks."""
        now = datetime(2026, 11, 27, 12, tzinfo=UTC)
        claims = {"iat": int(now.timestamp()), "exp": int((now + timedelta(minutes=5)).timestamp()),
                  "iss": "http://saleor.test/graphql/", "app": "QXBwOjE="}  # fmt: skip
        token = other_saleor_key.sign_jwt(claims)

        result = verify_dashboard_token(
            token, {"keys": [other_saleor_key.public_jwk]},
            saleor_api_url="http://saleor.test/graphql/", app_id="QXBwOjE=", now=now,
        )  # fmt: skip
        assert result == claims

    def test_naive_now_is_a_programming_error(
        self, recorded: dict[str, Any], sample_jwks: dict[str, Any]
    ) -> None:
        with pytest.raises(ValueError, match=r"^now must be timezone-aware$"):
            self.verify(recorded, sample_jwks, now=datetime(2026, 11, 27))  # noqa: DTZ001
