"""Where Saleor's GraphQL schema comes from: the one lookup for the tests and the Saleor fake.

The tests validate the app's GraphQL documents against Saleor's schema, and the Saleor fake executes
requests against it. The schema is Saleor's, for the version the app pins (``SALEOR_VERSION``); it is
not part of this repository. ``find_schema`` looks, in this order:

1. ``SALEOR_SCHEMA_PATH``: when set it must name the file (a wrong path is an error, not a fallback);
2. ``../shared/saleor/schema.graphql`` beside the repository (the team's reference checkout);
3. the copy in the user's cache directory (``$XDG_CACHE_HOME`` or ``~/.cache``, then
   ``saleor-gordon/schema-<version>.graphql``), downloaded once, as Saleor's own apps fetch theirs,
   from Saleor's published schema of that version:
   ``https://raw.githubusercontent.com/saleor/saleor/<version>/saleor/graphql/schema.graphql``
   (``SALEOR_SCHEMA_BASE_URL`` replaces ``https://raw.githubusercontent.com/saleor/saleor``, e.g.
   for a mirror).

With none of them, ``SchemaNotFound`` says what was tried and how to provide the schema.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import httpx

__all__ = [
    "DEFAULT_BASE_URL",
    "SALEOR_VERSION",
    "SHARED_SCHEMA",
    "SchemaNotFound",
    "cached_schema_path",
    "find_schema",
    "schema_url",
]

SALEOR_VERSION: Final = "3.23.28"
DEFAULT_BASE_URL: Final = "https://raw.githubusercontent.com/saleor/saleor"
SHARED_SCHEMA: Final = Path(__file__).resolve().parents[2].parent / "shared/saleor/schema.graphql"
PATH_VARIABLE: Final = "SALEOR_SCHEMA_PATH"
BASE_URL_VARIABLE: Final = "SALEOR_SCHEMA_BASE_URL"
DOWNLOAD_TIMEOUT_SECONDS: Final = 30.0
_MAX_SCHEMA_BYTES: Final = 20 * 1024 * 1024  # the 3.23 schema is about 1 MB


class SchemaNotFound(Exception):
    """No Saleor schema is available; the message lists what was tried and how to provide one."""


def schema_url(version: str = SALEOR_VERSION, *, base_url: str = DEFAULT_BASE_URL) -> str:
    """Saleor's published schema of ``version``."""
    return f"{base_url.rstrip('/')}/{version}/saleor/graphql/schema.graphql"


def cached_schema_path(
    version: str = SALEOR_VERSION, *, environ: Mapping[str, str] | None = None
) -> Path:
    """Where the downloaded copy of ``version`` is kept."""
    env = os.environ if environ is None else environ
    cache_home = env.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "saleor-gordon" / f"schema-{version}.graphql"


def find_schema(
    *,
    environ: Mapping[str, str] | None = None,
    shared_schema: Path = SHARED_SCHEMA,
    version: str = SALEOR_VERSION,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
) -> Path:
    """The path of Saleor's schema, downloading it once into the cache when nothing else has it.

    Raises:
        SchemaNotFound: SALEOR_SCHEMA_PATH names no file, or no schema is found nor downloadable.
    """
    env = os.environ if environ is None else environ
    configured = env.get(PATH_VARIABLE)
    if configured:
        path = Path(configured).expanduser()
        if path.is_file():
            return path
        raise SchemaNotFound(
            f"{PATH_VARIABLE}={configured} is not a file. Point it to Saleor's schema.graphql "
            f"({version}), or unset it to use {shared_schema} or a downloaded copy."
        )
    if shared_schema.is_file():
        return shared_schema
    cached = cached_schema_path(version, environ=env)
    if cached.is_file():
        return cached
    url = schema_url(version, base_url=env.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL)
    try:
        _download(url, cached, timeout=timeout)
    except _DownloadFailed as exc:
        raise SchemaNotFound(
            _how_to_provide(version, shared_schema, cached, url, str(exc))
        ) from None
    return cached


class _DownloadFailed(Exception):
    pass


def _download(url: str, target: Path, *, timeout: float) -> None:
    """Fetch ``url`` into ``target`` atomically: a failed or partial download leaves nothing."""
    try:
        response = httpx.get(url, timeout=timeout, follow_redirects=True)
    except httpx.HTTPError as exc:
        raise _DownloadFailed(f"{type(exc).__name__}: {exc}") from None
    if response.status_code != httpx.codes.OK:
        raise _DownloadFailed(f"HTTP {response.status_code}")
    if len(response.content) > _MAX_SCHEMA_BYTES:
        raise _DownloadFailed(f"the answer is larger than {_MAX_SCHEMA_BYTES} bytes")
    try:
        text = response.content.decode("utf-8")
    except UnicodeDecodeError:
        raise _DownloadFailed("the answer is not UTF-8 text") from None
    if not _looks_like_a_schema(text):
        raise _DownloadFailed("the answer is not a GraphQL schema with a Query type")
    partial: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=target.parent, prefix=f".{target.name}.", delete=False
        ) as file:
            partial = Path(file.name)
            file.write(text)
        os.replace(partial, target)
    except OSError as exc:
        if partial is not None:
            partial.unlink(missing_ok=True)
        raise _DownloadFailed(f"cannot write {target}: {exc.strerror or exc}") from None


def _looks_like_a_schema(text: str) -> bool:
    return "type Query" in text and "<html" not in text[:1000].lower()


def _how_to_provide(version: str, shared_schema: Path, cached: Path, url: str, failure: str) -> str:
    return (
        f"Saleor's GraphQL schema ({version}) was not found; the tests and the Saleor fake need it.\n"
        f"  tried: {PATH_VARIABLE} (not set); {shared_schema} (absent); {cached} (absent);\n"
        f"         downloading {url} ({failure}).\n"
        f"  Provide it in one of these ways:\n"
        f"    - {PATH_VARIABLE}=/path/to/schema.graphql uv run pytest\n"
        f"    - curl -fsSL --create-dirs -o {cached} {url}\n"
        f"    - {BASE_URL_VARIABLE}=<mirror of {DEFAULT_BASE_URL}> to download from elsewhere"
    )
