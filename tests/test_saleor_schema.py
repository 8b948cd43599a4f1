"""find_schema: SALEOR_SCHEMA_PATH, then ../shared, then a copy downloaded once into the cache.

The download is tried against a local HTTP server on 127.0.0.1 standing in for
raw.githubusercontent.com (SALEOR_SCHEMA_BASE_URL points there).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.support import saleor_fake
from tests.support.saleor_schema import (
    DEFAULT_BASE_URL,
    SALEOR_VERSION,
    SchemaNotFound,
    cached_schema_path,
    find_schema,
    schema_url,
)

SCHEMA_TEXT = "schema {\n  query: Query\n}\n\ntype Query {\n  shop: String\n}\n"
SCHEMA_PATH = f"/saleor/saleor/{SALEOR_VERSION}/saleor/graphql/schema.graphql"


@dataclass
class SchemaServer:
    """Serves ``routes`` (path -> (status, body)) and records the paths asked for."""

    routes: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    base_url: str = ""


@pytest.fixture
def schema_server() -> Iterator[SchemaServer]:
    server_state = SchemaServer(routes={SCHEMA_PATH: (200, SCHEMA_TEXT.encode())})

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.asked.append(self.path)
            status, body = server_state.routes.get(self.path, (404, b"404: Not Found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server_state.base_url = f"http://127.0.0.1:{server.server_address[1]}/saleor/saleor"
    try:
        yield server_state
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def nothing_local(tmp_path: Path) -> dict[str, object]:
    """No SALEOR_SCHEMA_PATH, no ../shared, an empty cache directory."""
    return {
        "environ": {"XDG_CACHE_HOME": str(tmp_path / "cache")},
        "shared_schema": tmp_path / "no-shared" / "schema.graphql",
    }


def _write(path: Path, text: str = SCHEMA_TEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_the_published_schema_of_the_pinned_version() -> None:
    assert schema_url() == (
        "https://raw.githubusercontent.com/saleor/saleor/3.23.28/saleor/graphql/schema.graphql"
    )
    assert DEFAULT_BASE_URL == "https://raw.githubusercontent.com/saleor/saleor"


def test_the_cache_is_in_the_users_cache_directory(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", "/home/anna")
    assert cached_schema_path(environ={}) == Path(
        "/home/anna/.cache/saleor-gordon/schema-3.23.28.graphql"
    )
    assert cached_schema_path(environ={"XDG_CACHE_HOME": "/var/cache/x"}) == Path(
        "/var/cache/x/saleor-gordon/schema-3.23.28.graphql"
    )


def test_saleor_schema_path_wins(tmp_path: Path, schema_server: SchemaServer) -> None:
    chosen = _write(tmp_path / "mine.graphql")
    shared = _write(tmp_path / "shared" / "schema.graphql")

    found = find_schema(
        environ={
            "SALEOR_SCHEMA_PATH": str(chosen),
            "SALEOR_SCHEMA_BASE_URL": schema_server.base_url,
        },
        shared_schema=shared,
    )

    assert found == chosen
    assert schema_server.asked == []


def test_a_wrong_saleor_schema_path_is_an_error_not_a_fallback(tmp_path: Path) -> None:
    shared = _write(tmp_path / "shared" / "schema.graphql")

    with pytest.raises(SchemaNotFound) as caught:
        find_schema(
            environ={"SALEOR_SCHEMA_PATH": str(tmp_path / "typo.graphql")}, shared_schema=shared
        )

    assert str(caught.value).startswith(
        f"SALEOR_SCHEMA_PATH={tmp_path / 'typo.graphql'} is not a file."
    )


def test_the_shared_checkout_comes_next(tmp_path: Path, schema_server: SchemaServer) -> None:
    shared = _write(tmp_path / "shared" / "schema.graphql")
    _write(cached_schema_path(environ={"XDG_CACHE_HOME": str(tmp_path / "cache")}))

    found = find_schema(
        environ={
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "SALEOR_SCHEMA_BASE_URL": schema_server.base_url,
        },
        shared_schema=shared,
    )

    assert found == shared
    assert schema_server.asked == []


def test_downloaded_once_into_the_cache(
    nothing_local: dict[str, object], schema_server: SchemaServer
) -> None:
    environ = {**nothing_local["environ"], "SALEOR_SCHEMA_BASE_URL": schema_server.base_url}  # type: ignore[dict-item]
    shared = nothing_local["shared_schema"]

    first = find_schema(environ=environ, shared_schema=shared)  # type: ignore[arg-type]
    second = find_schema(environ=environ, shared_schema=shared)  # type: ignore[arg-type]

    assert first == second == cached_schema_path(environ=environ)
    assert first.read_text(encoding="utf-8") == SCHEMA_TEXT
    assert schema_server.asked == [SCHEMA_PATH]
    assert [p.name for p in first.parent.iterdir()] == ["schema-3.23.28.graphql"]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((404, b"404: Not Found"), "HTTP 404"),
        ((200, b"<!DOCTYPE html><html>type Query</html>"), "the answer is not a GraphQL schema"),
        ((200, b"\xff\xfe"), "the answer is not UTF-8 text"),
    ],
    ids=["missing", "html-page", "binary"],
)
def test_a_failed_download_says_how_to_provide_the_schema_and_caches_nothing(
    nothing_local: dict[str, object],
    schema_server: SchemaServer,
    answer: tuple[int, bytes],
    reason: str,
) -> None:
    schema_server.routes[SCHEMA_PATH] = answer
    environ = {**nothing_local["environ"], "SALEOR_SCHEMA_BASE_URL": schema_server.base_url}  # type: ignore[dict-item]

    with pytest.raises(SchemaNotFound) as caught:
        find_schema(environ=environ, shared_schema=nothing_local["shared_schema"])  # type: ignore[arg-type]

    message = str(caught.value)
    cached = cached_schema_path(environ=environ)
    assert message.startswith("Saleor's GraphQL schema (3.23.28) was not found")
    assert (
        f"downloading {schema_server.base_url}/3.23.28/saleor/graphql/schema.graphql ({reason}"
        in message
    )
    assert "SALEOR_SCHEMA_PATH=/path/to/schema.graphql uv run pytest" in message
    assert f"curl -fsSL --create-dirs -o {cached} " in message
    assert not cached.parent.exists() or list(cached.parent.iterdir()) == []


def test_an_unreachable_server_says_how_to_provide_the_schema(
    nothing_local: dict[str, object], schema_server: SchemaServer
) -> None:
    closed = schema_server.base_url.replace("/saleor/saleor", "").rsplit(":", 1)[0] + ":9/x"
    environ = {**nothing_local["environ"], "SALEOR_SCHEMA_BASE_URL": closed}  # type: ignore[dict-item]

    with pytest.raises(SchemaNotFound, match=r"\(ConnectError: "):
        find_schema(environ=environ, shared_schema=nothing_local["shared_schema"], timeout=5)  # type: ignore[arg-type]


def test_the_saleor_fake_uses_the_same_lookup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = _write(tmp_path / "mine.graphql")
    monkeypatch.setenv("SALEOR_SCHEMA_PATH", str(chosen))
    assert saleor_fake.schema_path() == chosen

    monkeypatch.setenv("SALEOR_SCHEMA_PATH", str(tmp_path / "missing.graphql"))
    with pytest.raises(SchemaNotFound, match="is not a file"):
        saleor_fake.schema_path()
