"""/healthz, /readyz, the manifest, the logo and the public pages."""

from __future__ import annotations

import asyncio
import struct

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon import __version__
from saleor_gordon.saleor.manifest import build_manifest
from saleor_gordon.store.database import create_engine
from tests.support.unanswering_database_proxy import unanswering_database_proxy
from tests.web.conftest import APP_URL, ForbiddenOutbound, OpenApp


async def test_healthz_answers_while_the_process_runs(open_sqlite_app: OpenApp) -> None:
    # given: not even migrated
    app = await open_sqlite_app(migrated=False)
    # when
    response = await app.client.get("/healthz")
    # then
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_ready_on_a_migrated_database(open_app: OpenApp) -> None:
    # given
    app = await open_app()
    # when
    response = await app.client.get("/readyz")
    # then
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


async def test_readyz_is_not_ready_before_migrations(open_app: OpenApp) -> None:
    # given: a fresh database nobody migrated
    app = await open_app(migrated=False)
    # when
    response = await app.client.get("/readyz")
    # then
    assert response.status_code == 503
    assert response.json()["status"] == "unavailable"
    assert "saleor-gordon migrate" in response.json()["migrations"]


async def test_readyz_is_not_ready_when_the_database_is_unreachable(
    open_app: OpenApp, unreachable_engine: AsyncEngine
) -> None:
    # given
    app = await open_app()
    app.runtime.engine = unreachable_engine
    # when
    response = await app.client.get("/readyz")
    # then
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "cannot be reached" in body["database"]


async def test_readyz_is_not_ready_when_the_database_never_answers(
    open_sqlite_app: OpenApp,
) -> None:
    # given a database that accepts connections and never answers
    app = await open_sqlite_app()
    with unanswering_database_proxy() as unanswering:
        engine = create_engine(
            f"postgresql://u@127.0.0.1:{unanswering.port}/db", connect_timeout=0.5
        )
        app.runtime.engine = engine
        try:
            # when (bounded far below asyncpg's own 60 s)
            response = await asyncio.wait_for(app.client.get("/readyz"), 10)
        finally:
            await engine.dispose()
    # then
    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "The database cannot be reached: no answer in time (TimeoutError; opening a "
        "connection waits at most SALEOR_GORDON_DATABASE_CONNECT_TIMEOUT_SECONDS, a statement at "
        "most SALEOR_GORDON_DATABASE_STATEMENT_TIMEOUT_SECONDS)",
    }


async def test_the_manifest_is_built_for_the_configured_app_url(open_sqlite_app: OpenApp) -> None:
    # given
    app = await open_sqlite_app(transport=ForbiddenOutbound())
    # when
    response = await app.client.get("/api/manifest")
    # then
    assert response.status_code == 200
    manifest = response.json()
    assert manifest == build_manifest(app_url=APP_URL, version=__version__)
    assert manifest["tokenTargetUrl"] == f"{APP_URL}/api/register"
    assert {hook["targetUrl"] for hook in manifest["webhooks"]} == {
        f"{APP_URL}/api/webhooks/orders",
        f"{APP_URL}/api/webhooks/app-deleted",
    }


async def test_the_logo_the_manifest_names_is_a_png_of_at_least_256_px(
    open_sqlite_app: OpenApp,
) -> None:
    # given
    app = await open_sqlite_app()
    logo_url = (await app.client.get("/api/manifest")).json()["brand"]["logo"]["default"]
    # when
    response = await app.client.get(logo_url)
    # then
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert response.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", response.content[16:24])
    assert min(width, height) >= 256


@pytest.mark.parametrize(
    ("path", "words"), [("/", "Install"), ("/support", "Support"), ("/privacy", "privacy")]
)
async def test_the_public_pages_answer_html(
    open_sqlite_app: OpenApp, path: str, words: str
) -> None:
    # given
    app = await open_sqlite_app()
    # when
    response = await app.client.get(path)
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert words in response.text


async def test_the_manifest_links_to_pages_that_exist(open_sqlite_app: OpenApp) -> None:
    # given
    app = await open_sqlite_app()
    manifest = (await app.client.get("/api/manifest")).json()
    keys = ("appUrl", "homepageUrl", "supportUrl", "dataPrivacyUrl")
    links = [manifest[k] for k in keys]
    for link in links:
        # when
        response = await app.client.get(link)
        # then
        assert response.status_code == 200, link
        assert response.headers["content-type"].startswith("text/html"), link


@pytest.mark.parametrize(
    ("path", "script", "title"),
    [
        ("/app", "app-page.js", "Gordon Delivery"),
        ("/app/order-widget", "order-widget.js", "Gordon Delivery"),
        ("/app/send-to-gordon", "send-popup.js", "Send to Gordon"),
    ],
)
async def test_the_dashboard_pages_are_shells_that_load_the_apps_own_script(
    open_sqlite_app: OpenApp, path: str, script: str, title: str
) -> None:
    """No data and no outbound call on a page load (the Dashboard loads each frame twice)."""
    # given
    app = await open_sqlite_app(transport=ForbiddenOutbound())
    # when
    response = await app.client.get(
        path, params={"saleorApiUrl": "https://shop.example.com/graphql/", "theme": "dark"}
    )
    # then
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert f"<script type='module' src='/static/dashboard/{script}?v=" in response.text
    assert f"<title>{title}</title>" in response.text
    assert "data-theme='dark'" in response.text
    assert response.headers["content-security-policy"].startswith(
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
    )
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert "shop.example.com" not in response.text


@pytest.mark.parametrize("theme", ["<script>", "light", None])
async def test_an_unknown_theme_is_light(open_sqlite_app: OpenApp, theme: str | None) -> None:
    # given
    app = await open_sqlite_app()
    # when
    response = await app.client.get("/app", params={} if theme is None else {"theme": theme})
    # then
    assert "data-theme='light'" in response.text
    assert "<script>" not in response.text


async def test_the_page_scripts_are_served_by_the_app(open_sqlite_app: OpenApp) -> None:
    # given
    app = await open_sqlite_app(transport=ForbiddenOutbound())
    # when
    script = await app.client.get("/static/dashboard/bridge.js")
    style = await app.client.get("/static/dashboard/dashboard.css")
    missing = await app.client.get("/static/dashboard/nothing.js")
    # then
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "export class AppBridge" in script.text
    assert script.headers["cache-control"] == "no-cache"
    assert style.headers["content-type"].startswith("text/css")
    assert missing.status_code == 404


async def test_an_unknown_path_is_a_json_404(open_sqlite_app: OpenApp) -> None:
    # given
    app = await open_sqlite_app()
    # when
    response = await app.client.get("/wp-login.php")
    # then
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
