"""POST /api/register end to end: Saleor (a fake over loopback) hands the app its token."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.saleor.graphql_client import SaleorClient
from saleor_gordon.saleor.manifest import APP_ID
from tests.support.fixtures import RunningSaleorFake
from tests.web.conftest import (
    APP_URL,
    RECORDED_API_URL,
    RECORDED_APP_ID,
    REGISTER_PATH,
    ForbiddenOutbound,
    OpenApp,
    error_of,
    install_from_fake,
    load_recorded_request,
)

SHOP_URL = "https://shop.example.com/graphql/"
OUR_APP = {"id": RECORDED_APP_ID, "identifier": APP_ID}
"""What ``{ app { id identifier } }`` answers with this app's token."""


def register_headers(saleor_api_url: str | None = SHOP_URL) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Saleor-Schema-Version": "3.23"}
    if saleor_api_url is not None:
        headers["Saleor-Api-Url"] = saleor_api_url
    return headers


def sqlite_files_bytes(directory: Path) -> bytes:
    """The database file with its WAL and shared-memory files."""
    return b"".join(path.read_bytes() for path in sorted(directory.glob("saleor-gordon.db*")))


async def test_installation_from_the_dashboard_stores_app_id_token_and_jwks(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given
    app = await open_app()
    # when
    response = await saleor_fake.state.install_app(app.client, app.manifest_url)
    # then
    assert response.status_code == 200
    assert response.json() == {"success": True}
    installation = await app.installation(saleor_fake.api_url)
    assert installation is not None
    assert installation.app_id == saleor_fake.state.app_id
    assert installation.jwks == saleor_fake.state.jwks
    assert saleor_fake.state.accepts(installation.token)
    assert saleor_fake.state.requests["AppId"] == 1
    assert saleor_fake.state.jwks_fetches == 1


async def test_reinstallation_replaces_the_token(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    """Saleor's appRetryInstall posts a new token; the newest one is used from then on."""
    # given
    app = await open_app()
    first = await install_from_fake(app, saleor_fake)
    saleor_fake.state.revoke_token(first.token)
    # when
    second = await install_from_fake(app, saleor_fake)
    # then
    assert second.id == first.id
    assert second.token != first.token
    assert [i.token for i in await app.runtime.installations.list_installations()] == [second.token]
    client = SaleorClient(
        saleor_api_url=saleor_fake.api_url, token=second.token, http=app.runtime.http
    )
    assert await client.app_id() == saleor_fake.state.app_id


async def test_the_token_is_not_readable_in_the_database_file(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, tmp_path: Path
) -> None:
    # given
    app = await open_sqlite_app()
    # when
    installation = await install_from_fake(app, saleor_fake)
    await app.runtime.engine.dispose()
    # then
    assert installation.token.encode() not in sqlite_files_bytes(tmp_path)


async def test_refuses_a_saleor_outside_the_allow_list_without_calling_it(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given
    app = await open_sqlite_app(allowed_saleor_urls=r"https://[a-z0-9-]+\.saleor\.cloud/graphql/")
    # when
    response = await saleor_fake.state.register(app.client, f"{APP_URL}{REGISTER_PATH}")
    # then
    assert response.status_code == 403
    error = error_of(response)
    assert error["code"] == "SALEOR_URL_PROHIBITED"
    assert "SALEOR_GORDON_ALLOWED_SALEOR_URLS" in error["message"]
    assert saleor_fake.state.api_url in error["message"]
    assert sum(saleor_fake.state.requests.values()) == 0
    assert saleor_fake.state.jwks_fetches == 0
    assert await app.installation(saleor_fake.api_url) is None


async def test_accepts_a_saleor_on_the_allow_list(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given
    app = await open_sqlite_app(allowed_saleor_urls=r"http://127\.0\.0\.1:\d+/graphql/")
    # when
    response = await saleor_fake.state.install_app(app.client, app.manifest_url)
    # then
    assert response.status_code == 200


async def test_refuses_a_token_saleor_does_not_accept(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    # given
    app = await open_sqlite_app()
    # when
    response = await saleor_fake.state.register(
        app.client, f"{APP_URL}{REGISTER_PATH}", token="NotATokenSaleorIssued012345678"
    )
    # then
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "UNKNOWN_APP_ID"
    assert saleor_fake.api_url in error["message"]
    assert "PUBLIC_URL" in error["message"]
    assert saleor_fake.state.jwks_fetches == 0
    assert await app.installation(saleor_fake.api_url) is None


async def test_refuses_when_saleor_cannot_be_reached(open_sqlite_app: OpenApp) -> None:
    # given: a Saleor API URL where nothing listens
    app = await open_sqlite_app()
    # when
    response = await app.client.post(
        REGISTER_PATH,
        headers=register_headers("http://127.0.0.1:9/graphql/"),
        json={"auth_token": "a" * 30},
    )
    # then
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNKNOWN_APP_ID"


@pytest.mark.parametrize(
    "jwks",
    [{"keys": []}, {"keys": [{"kty": "EC", "kid": "x"}]}],
    ids=["no-keys", "not-rsa"],
)
async def test_refuses_when_saleor_serves_no_usable_jwks(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake, jwks: dict[str, object]
) -> None:
    # given
    app = await open_sqlite_app()
    saleor_fake.state.serve_jwks(jwks)
    # when
    response = await saleor_fake.state.install_app(app.client, app.manifest_url)
    # then
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "JWKS_NOT_AVAILABLE"
    assert "/.well-known/jwks.json" in error["message"]
    assert await app.installation(saleor_fake.api_url) is None


async def test_refuses_when_the_jwks_endpoint_fails(open_sqlite_app: OpenApp) -> None:
    # given: a Saleor whose token check succeeds and whose JWKS endpoint answers 503
    def saleor(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(503)
        return httpx.Response(200, json={"data": {"app": OUR_APP}})

    app = await open_sqlite_app(transport=httpx.MockTransport(saleor))
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=register_headers(), json={"auth_token": "a" * 30}
    )
    # then
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "JWKS_NOT_AVAILABLE"
    assert "HTTP 503" in error["message"]
    assert await app.installation(SHOP_URL) is None


@pytest.mark.parametrize(
    ("headers", "content", "code"),
    [
        (register_headers(None), b'{"auth_token": "x"}', "MISSING_SALEOR_API_URL"),
        (register_headers("   "), b'{"auth_token": "x"}', "MISSING_SALEOR_API_URL"),
        (register_headers("ftp://shop/graphql/"), b'{"auth_token": "x"}', "INVALID_SALEOR_API_URL"),
        (register_headers(), b"{not json", "INVALID_REQUEST_JSON"),
        (register_headers(), b'["auth_token"]', "INVALID_REQUEST_JSON"),
        (register_headers(), b"", "INVALID_REQUEST_JSON"),
        (register_headers(), b"{}", "MISSING_AUTH_TOKEN"),
        (register_headers(), b'{"auth_token": ""}', "MISSING_AUTH_TOKEN"),
        (register_headers(), b'{"auth_token": 42}', "MISSING_AUTH_TOKEN"),
        (register_headers(), b"[" * 100_000, "INVALID_REQUEST_JSON"),
        (
            register_headers("http://x:99999/graphql/"),
            b'{"auth_token": "x"}',
            "INVALID_SALEOR_API_URL",
        ),
        (
            register_headers("http://[::1/graphql/"),
            b'{"auth_token": "x"}',
            "INVALID_SALEOR_API_URL",
        ),
        (
            register_headers("http://x:port/graphql/"),
            b'{"auth_token": "x"}',
            "INVALID_SALEOR_API_URL",
        ),
        (register_headers("https:///graphql/"), b'{"auth_token": "x"}', "INVALID_SALEOR_API_URL"),
        (
            register_headers("https://shop.example.com/" + "a" * 2048),
            b'{"auth_token": "x"}',
            "INVALID_SALEOR_API_URL",
        ),
    ],
    ids=[
        "no-api-url",
        "blank-api-url",
        "api-url-not-http",
        "bad-json",
        "json-not-object",
        "empty-body",
        "no-auth-token",
        "empty-auth-token",
        "auth-token-not-string",
        "deeply-nested-json",
        "api-url-port-out-of-range",
        "api-url-unbalanced-ipv6",
        "api-url-port-not-a-number",
        "api-url-without-host",
        "api-url-too-long",
    ],
)
async def test_refuses_a_malformed_request_with_400_and_no_outbound_call(
    open_sqlite_app: OpenApp, headers: dict[str, str], content: bytes, code: str
) -> None:
    # given
    outbound = ForbiddenOutbound()
    app = await open_sqlite_app(transport=outbound)
    # when
    response = await app.client.post(REGISTER_PATH, headers=headers, content=content)
    # then
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == code
    assert error["message"]
    assert outbound.requests == []


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_answers_other_methods_with_a_json_405(open_sqlite_app: OpenApp, method: str) -> None:
    # given
    app = await open_sqlite_app(transport=ForbiddenOutbound())
    # when
    response = await app.client.request(method, REGISTER_PATH)
    # then
    assert response.status_code == 405
    assert error_of(response)["code"] == "WRONG_METHOD"


async def test_the_recorded_register_request_installs_the_recorded_shop(
    open_app: OpenApp, samples_dir: Path, recorded_jwks: dict[str, Any]
) -> None:
    """Saleor 3.23's real token POST, answered by the recorded Saleor responses."""
    # given: the recorded Saleor at 127.0.0.1:8000 answers with what it answered then
    recorded = load_recorded_request(samples_dir / "register", samples_dir)
    token = json.loads(recorded.body)["auth_token"]
    app_id_answer = json.loads(
        (samples_dir / "graphql_responses" / "app_id_app_token.json").read_text()
    )["body"]
    # Recorded for { app { id } }; the app now asks for the identifier too (Saleor 3.19+), which
    # Saleor answers with the id of the manifest the app was installed from.
    app_id_answer["data"]["app"]["identifier"] = APP_ID
    seen: list[str] = []

    def recorded_saleor(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if str(request.url) == RECORDED_API_URL:
            assert request.headers["authorization"] == f"Bearer {token}"
            return httpx.Response(200, json=app_id_answer)
        if str(request.url) == "http://127.0.0.1:8000/.well-known/jwks.json":
            return httpx.Response(200, content=(samples_dir / "jwks.json").read_bytes())
        return httpx.Response(404)

    app = await open_app(transport=httpx.MockTransport(recorded_saleor))
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=recorded.replay_headers(), content=recorded.body
    )
    # then
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}
    assert seen == [RECORDED_API_URL, "http://127.0.0.1:8000/.well-known/jwks.json"]
    installation = await app.installation(RECORDED_API_URL)
    assert installation is not None
    assert installation.app_id == RECORDED_APP_ID
    assert installation.token == token
    assert installation.jwks == recorded_jwks


def graphql_saleor(answer: httpx.Response) -> httpx.MockTransport:
    """A Saleor whose GraphQL endpoint gives ``answer`` and whose JWKS endpoint is never reached."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/graphql/", request.url
        return answer

    return httpx.MockTransport(handler)


NO_SALEOR = "no Saleor GraphQL API answered there within 10 s"


@pytest.mark.parametrize(
    ("answer", "summary"),
    [
        (httpx.Response(500, text="Traceback: remote detail"), NO_SALEOR),
        (
            httpx.Response(200, json={"errors": [{"message": "remote detail"}], "data": None}),
            "Saleor answered with an error",
        ),
        (httpx.Response(200, json={"data": {"app": None}}), "Saleor refused the token"),
        (httpx.Response(200, text="<html>remote detail</html>"), NO_SALEOR),
        (httpx.Response(404, text="Not Found"), NO_SALEOR),
    ],
    ids=["http-500", "graphql-error", "token-refused", "not-graphql", "http-404"],
)
async def test_a_failed_token_check_says_what_failed_in_the_apps_own_words(
    open_sqlite_app: OpenApp, answer: httpx.Response, summary: str
) -> None:
    # given
    app = await open_sqlite_app(transport=graphql_saleor(answer))
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=register_headers(), json={"auth_token": "a" * 30}
    )
    # then: one actionable sentence, no nested parentheses, nothing of Saleor's own text
    assert response.status_code == 401
    message = error_of(response)["message"]
    assert summary in message
    assert SHOP_URL in message
    assert "remote detail" not in message
    assert "((" not in message
    assert message.count("(") <= 1


async def test_messages_show_the_api_url_without_credentials(open_sqlite_app: OpenApp) -> None:
    # given: nothing listens on port 9
    app = await open_sqlite_app()
    # when
    response = await app.client.post(
        REGISTER_PATH,
        headers=register_headers("http://127.0.0.1:9/graphql/"),
        json={"auth_token": "a" * 30},
    )
    # then
    assert response.status_code == 401
    message = error_of(response)["message"]
    assert "http://127.0.0.1:9/graphql/:" in message
    assert NO_SALEOR in message
    assert "((" not in message


@pytest.mark.parametrize(
    "url",
    [
        "http://user:hunter2@127.0.0.1:9/graphql/",
        "http://127.0.0.1:9/graphql/?q=hunter2",
        "http://127.0.0.1:9/graphql/#hunter2",
    ],
    ids=["userinfo", "query", "fragment"],
)
async def test_an_api_url_with_userinfo_query_or_fragment_is_refused_uncalled(
    open_sqlite_app: OpenApp, url: str
) -> None:
    # given
    outbound = ForbiddenOutbound()
    app = await open_sqlite_app(transport=outbound)
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=register_headers(url), json={"auth_token": "a" * 30}
    )
    # then
    assert response.status_code == 400
    error = error_of(response)
    assert error == {
        "code": "INVALID_SALEOR_API_URL",
        "message": "The Saleor-Api-Url header must not contain a user name, a query (?) or a "
        "fragment (#); check Saleor's PUBLIC_URL setting.",
    }
    assert outbound.requests == []


async def test_the_allow_list_refusal_says_what_to_change(
    open_sqlite_app: OpenApp,
) -> None:
    # given
    app = await open_sqlite_app(
        allowed_saleor_urls=r"https://[a-z]+\.saleor\.cloud/graphql/",
        transport=ForbiddenOutbound(),
    )
    # when
    response = await app.client.post(
        REGISTER_PATH,
        headers=register_headers("https://evil.example.com/graphql/"),
        json={"auth_token": "a" * 30},
    )
    # then
    assert response.status_code == 403
    message = error_of(response)["message"]
    assert message == (
        "This app does not serve https://evil.example.com/graphql/: the URL is not among the "
        "URLs that SALEOR_GORDON_ALLOWED_SALEOR_URLS allows. Ask its operator to allow this "
        "Saleor with the setting SALEOR_GORDON_ALLOWED_SALEOR_URLS."
    )


async def test_the_jwks_refusal_is_one_sentence_naming_the_jwks_url(
    open_sqlite_app: OpenApp,
) -> None:
    # given
    def saleor(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(200, json={"keys": [{"kty": "EC", "kid": "remote detail"}]})
        return httpx.Response(200, json={"data": {"app": OUR_APP}})

    app = await open_sqlite_app(transport=httpx.MockTransport(saleor))
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=register_headers(), json={"auth_token": "a" * 30}
    )
    # then
    assert response.status_code == 401
    message = error_of(response)["message"]
    assert "https://shop.example.com/.well-known/jwks.json is unusable" in message
    assert "remote detail" not in message
    assert "(" not in message


async def test_the_token_is_used_and_stored_without_surrounding_whitespace(
    open_sqlite_app: OpenApp, samples_dir: Path
) -> None:
    # given
    token = "a" * 30
    seen: list[str] = []

    def saleor(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/jwks.json":
            return httpx.Response(200, content=(samples_dir / "jwks.json").read_bytes())
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json={"data": {"app": OUR_APP}})

    app = await open_sqlite_app(transport=httpx.MockTransport(saleor))
    # when
    response = await app.client.post(
        REGISTER_PATH, headers=register_headers(), json={"auth_token": f"  {token}\n"}
    )
    # then
    assert response.status_code == 200
    assert seen == [f"Bearer {token}"]
    installation = await app.installation(SHOP_URL)
    assert installation is not None
    assert installation.token == token


# --- whose token, and how often -----------------------------------------------------------------


async def test_another_apps_token_for_our_saleor_changes_nothing(
    open_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    """Another app installed in the same Saleor posts its own token for that Saleor."""
    # given
    app = await open_app()
    ours = await install_from_fake(app, saleor_fake)
    fetches = saleor_fake.state.jwks_fetches
    other_token = saleor_fake.state.issue_other_app_token(app_id="QXBwOjk5")
    # when
    response = await saleor_fake.state.register(
        app.client, f"{APP_URL}{REGISTER_PATH}", token=other_token
    )
    # then
    assert response.status_code == 401
    assert error_of(response) == {
        "code": "FOREIGN_APP_TOKEN",
        "message": f"The token belongs to another app in the Saleor at {saleor_fake.api_url}, "
        "not to Gordon Delivery (manifest id se.gordondelivery.saleor); nothing was changed. "
        "Install Gordon Delivery from its manifest URL in the Saleor Dashboard.",
    }
    assert await app.installation(saleor_fake.api_url) == ours
    assert saleor_fake.state.jwks_fetches == fetches
    # our Dashboard token still works; the other app's is refused
    session = "/api/dashboard/session"
    now = datetime.now(UTC)
    for claims, status in [({}, 200), ({"app": "QXBwOjk5"}, 401)]:
        token = saleor_fake.state.dashboard_token(now=now, **claims)
        answer = await app.client.get(
            session, headers={"authorization-bearer": token, "saleor-api-url": ours.saleor_api_url}
        )
        assert answer.status_code == status, answer.text


@pytest.mark.parametrize(
    "app_id",
    ["Q" * 256, "QXBw\x00OjE=", "QXBwOjE=\ninstallation.saved saleor_api_url=https://x/"],
    ids=["256-chars", "nul", "line-break"],
)
async def test_an_app_id_the_app_cannot_store_is_refused_and_changes_nothing(
    open_app: OpenApp,
    saleor_fake: RunningSaleorFake,
    caplog: pytest.LogCaptureFixture,
    app_id: str,
) -> None:
    """The claimed Saleor says which app the token is; a hostile one may say anything."""
    # given: the shop is installed; its Saleor now answers `{ app { id } }` with an odd id
    app = await open_app()
    ours = await install_from_fake(app, saleor_fake)
    fetches = saleor_fake.state.jwks_fetches
    saleor_fake.state.app_id = app_id
    # when
    with caplog.at_level(logging.INFO, logger="saleor_gordon.web.registration"):
        response = await saleor_fake.state.register(app.client, f"{APP_URL}{REGISTER_PATH}")
    # then: a clear 401 (not the database's 503), the installation as it was
    assert response.status_code == 401
    assert error_of(response) == {
        "code": "UNKNOWN_APP_ID",
        "message": f"The Saleor at {saleor_fake.api_url} answered with an app id the app cannot "
        "use (it must be one line of at most 255 characters); nothing was changed. Make sure "
        "this is the API URL of a Saleor, then retry the installation.",
    }
    assert await app.installation(saleor_fake.api_url) == ours
    assert saleor_fake.state.jwks_fetches == fetches
    assert caplog.messages == [f"installation.app_id_unusable saleor_api_url={saleor_fake.api_url}"]


async def test_a_token_of_an_app_without_a_manifest_is_refused(
    open_sqlite_app: OpenApp, saleor_fake: RunningSaleorFake
) -> None:
    app = await open_sqlite_app()
    token = saleor_fake.state.issue_other_app_token(identifier=None)

    response = await saleor_fake.state.register(
        app.client, f"{APP_URL}{REGISTER_PATH}", token=token
    )

    assert response.status_code == 401
    assert error_of(response)["code"] == "FOREIGN_APP_TOKEN"
    assert await app.installation(saleor_fake.api_url) is None


async def test_our_own_reinstall_with_a_new_app_id_replaces_the_installation(
    open_app: OpenApp, saleor_fake: RunningSaleorFake, caplog: pytest.LogCaptureFixture
) -> None:
    """Removing and installing the app again: Saleor gives it a new id, same manifest id."""
    # given
    app = await open_app()
    first = await install_from_fake(app, saleor_fake)
    saleor_fake.state.revoke_all_tokens()
    saleor_fake.state.app_id = "QXBwOjQy"
    # when
    with caplog.at_level(logging.INFO, logger="saleor_gordon.web.registration"):
        second = await install_from_fake(app, saleor_fake)
    # then
    assert (second.id, second.app_id) == (first.id, "QXBwOjQy")
    assert (
        f"installation.replaced saleor_api_url={saleor_fake.api_url} old_app_id={first.app_id} "
        "new_app_id=QXBwOjQy"
    ) in caplog.messages


async def test_registrations_are_limited_per_client_address(open_sqlite_app: OpenApp) -> None:
    # given: three attempts a minute from one address, each for another (unreachable) Saleor
    outbound = httpx.MockTransport(lambda request: httpx.Response(503))
    app = await open_sqlite_app(transport=outbound, register_rate_per_client=3)
    # when
    statuses = []
    for number in range(4):
        response = await app.client.post(
            REGISTER_PATH,
            headers=register_headers(f"https://shop-{number}.example.com/graphql/"),
            json={"auth_token": "a" * 30},
        )
        statuses.append(response.status_code)
    # then
    assert statuses == [401, 401, 401, 429]
    retry = response.headers["retry-after"]
    assert 18 <= int(retry) <= 20  # a new attempt every 20 s, less what passed since the first
    assert error_of(response) == {
        "code": "TOO_MANY_REGISTRATIONS",
        "message": f"Too many installation attempts from this address; try again in {retry} s.",
    }


async def test_registrations_are_limited_per_claimed_saleor(open_sqlite_app: OpenApp) -> None:
    # given
    calls: list[str] = []

    def saleor(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(503)

    app = await open_sqlite_app(transport=httpx.MockTransport(saleor), register_rate_per_saleor=2)
    # when
    statuses = []
    for _ in range(3):
        response = await app.client.post(
            REGISTER_PATH, headers=register_headers(), json={"auth_token": "a" * 30}
        )
        statuses.append(response.status_code)
    other = await app.client.post(
        REGISTER_PATH,
        headers=register_headers("https://other.example.com/graphql/"),
        json={"auth_token": "a" * 30},
    )
    # then: the third attempt for shop.example.com made no call; another Saleor is not held up
    assert statuses == [401, 401, 429]
    retry = response.headers["retry-after"]
    assert 28 <= int(retry) <= 30
    assert error_of(response)["message"] == (
        f"Too many installation attempts for the Saleor at https://shop.example.com; try again in "
        f"{retry} s."
    )
    assert calls == [SHOP_URL, SHOP_URL, "https://other.example.com/graphql/"]
    assert other.status_code == 401


async def test_every_spelling_of_a_claimed_saleor_shares_its_allowance(
    open_sqlite_app: OpenApp,
) -> None:
    """Registration accepts a host in capitals, ``:443``, a trailing dot, another path: each is
    the same Saleor's server, called as often, so each takes from one allowance."""
    # given
    calls: list[str] = []

    def saleor(request: httpx.Request) -> httpx.Response:
        calls.append(str(request.url))
        return httpx.Response(503)

    app = await open_sqlite_app(transport=httpx.MockTransport(saleor), register_rate_per_saleor=3)
    spellings = [
        "https://SHOP.example.com/graphql/",
        "https://shop.example.com:443/graphql/",
        "https://shop.example.com./graphql",
        "HTTPS://Shop.Example.com:/graphql/",
        "https://shop.example.com/x/graphql/",
    ]
    # when
    statuses = []
    for spelling in spellings:
        response = await app.client.post(
            REGISTER_PATH, headers=register_headers(spelling), json={"auth_token": "a" * 30}
        )
        statuses.append((response.status_code, error_of(response)["code"]))
    # then: the first three were tried (Saleor did not answer); the others made no call
    assert statuses == [
        (401, "UNKNOWN_APP_ID"),
        (401, "UNKNOWN_APP_ID"),
        (401, "UNKNOWN_APP_ID"),
        (429, "TOO_MANY_REGISTRATIONS"),
        (429, "TOO_MANY_REGISTRATIONS"),
    ]
    assert len(calls) == 3
    assert error_of(response)["message"].startswith(
        "Too many installation attempts for the Saleor at https://shop.example.com; try again in "
    )
