"""The deployment files and the storefront example say what the app does.

No Docker engine runs in the tests: the Dockerfile is checked as text, deploy/compose.yaml is read
as YAML (anchors and merge keys resolved, as compose reads them) and its `${VAR}` references are
filled in from deploy/env.example the way compose fills them from `.env`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from graphql import OperationDefinitionNode, parse, validate

from saleor_gordon.core.destinations import DestinationRefused, DestinationRules, UrlParts
from saleor_gordon.core.translate import (
    META_DELIVERY_DATE,
    META_ENTRY_CODE,
    META_TIME_WINDOW,
    Translated,
    translate_order,
)
from saleor_gordon.settings import Settings
from tests.conftest import REPO_ROOT
from tests.core.builders import config, order
from tests.support.saleor_fake import load_schema

DEPLOY = REPO_ROOT / "deploy"
STOREFRONT = REPO_ROOT / "docs" / "storefront"
APP_SERVICES = ("migrate", "web", "worker")
REFERENCE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?::([?-])([^}]*))?\}")


@pytest.fixture(scope="module")
def compose_text() -> str:
    return (DEPLOY / "compose.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def compose(compose_text: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(compose_text)
    return loaded


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    """``NAME=value`` lines of deploy/env.example (comments left out)."""
    text = (DEPLOY / "env.example").read_text(encoding="utf-8")
    return dict(re.findall(r"^([A-Z_][A-Z0-9_]*)=(.*)$", text, flags=re.MULTILINE))


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` with ``env``."""

    def replace(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        given = env.get(name, "")
        if operator == "?" and not given:
            pytest.fail(f"compose would refuse to start: {argument}")
        return given or (argument if operator == "-" else "")

    return REFERENCE.sub(replace, value)


def test_compose_runs_postgresql_two_web_replicas_and_a_worker(compose: dict[str, Any]) -> None:
    services = compose["services"]

    assert sorted(services) == ["migrate", "postgres", "proxy", "web", "worker"]
    assert services["postgres"]["image"] == "postgres:17"
    assert services["web"]["deploy"]["replicas"] == 2
    assert services["web"]["command"] == [
        "saleor-gordon", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "0"  # noqa: S104
    ]  # fmt: skip
    assert services["worker"]["command"] == ["saleor-gordon", "worker"]
    assert services["migrate"]["command"] == ["saleor-gordon", "migrate"]
    for app_service in ("web", "worker"):
        assert services[app_service]["depends_on"] == {
            "migrate": {"condition": "service_completed_successfully"}
        }
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"}}
    assert services["migrate"]["restart"] == "no"
    assert services["worker"]["healthcheck"] == {"disable": True}  # no HTTP to check
    assert services["worker"]["environment"]["SALEOR_GORDON_WORKERS"] == (
        "${SALEOR_GORDON_WORKERS:-8}"
    )


def test_compose_builds_the_image_once_and_never_pulls_it(compose: dict[str, Any]) -> None:
    services = compose["services"]
    image = services["migrate"]["image"]

    assert [name for name, service in services.items() if "build" in service] == ["migrate"]
    assert services["migrate"]["build"] == {"context": ".."}
    assert image == "saleor-gordon:${SALEOR_GORDON_IMAGE_TAG:-latest}"
    for name in ("web", "worker"):
        assert services[name]["image"] == image
        assert services[name]["pull_policy"] == "never"
    assert "build" not in compose["x-app"]


def test_compose_requires_every_secret_and_env_example_lists_them(
    compose_text: str, env_example: dict[str, str]
) -> None:
    required = {name for name, operator, _ in REFERENCE.findall(compose_text) if operator == "?"}

    assert required == {
        "POSTGRES_PASSWORD",
        "SALEOR_GORDON_SECRET_KEY",
        "SALEOR_GORDON_DOMAIN",
        "SALEOR_GORDON_ALLOWED_SALEOR_URLS",
        "SALEOR_GORDON_METRICS_TOKEN",
    }
    assert required <= set(env_example)
    assert {name for name, _, _ in REFERENCE.findall(compose_text)} <= set(env_example) | {
        "SALEOR_GORDON_IMAGE_TAG",
        "SALEOR_GORDON_LOG_LEVEL",
        "SALEOR_GORDON_LOG_FORMAT",
    }


def test_metrics_behind_the_public_proxy_require_a_token(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    """Caddy forwards every path, /metrics too: so every app container gets a required token."""
    empty = {**env_example, "SALEOR_GORDON_METRICS_TOKEN": ""}

    for name in APP_SERVICES:
        value = compose["services"][name]["environment"]["SALEOR_GORDON_METRICS_TOKEN"]
        assert value.startswith("${SALEOR_GORDON_METRICS_TOKEN:?"), name
        with pytest.raises(pytest.fail.Exception, match="set SALEOR_GORDON_METRICS_TOKEN"):
            _interpolate(value, empty)


def test_env_example_values_are_settings_the_app_accepts(
    compose: dict[str, Any], env_example: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the web containers get from env.example (secrets filled in) is read as written."""
    filled = {name: value or f"filled-in-{name.lower()}" for name, value in env_example.items()}
    environment = {
        name: _interpolate(str(value), filled)
        for name, value in compose["services"]["web"]["environment"].items()
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    settings = Settings()

    assert settings.app_url == "https://gordon.example.com"
    assert settings.database_url.startswith("postgresql://gordon:")
    for name, value in environment.items():
        field = name.removeprefix("SALEOR_GORDON_").lower()
        if field in Settings.model_fields and field not in ("secret_key", "metrics_token"):
            assert str(getattr(settings, field)) == value, name
    # judged as the app judges a destination: the allow-list against the parsed URL
    assert _allowed(settings.saleor_url_rules, "https://my-shop.saleor.cloud/graphql/")
    assert not _allowed(settings.saleor_url_rules, "https://evil.test/x.saleor.cloud/graphql/")
    for allowed in (
        "https://backend.staging.gordondelivery.com",
        "https://backend.gordondelivery.com/",
    ):
        assert _allowed(settings.gordon_url_rules, allowed), allowed
    for refused in ("https://gordondelivery.com.evil.test", "http://backend.gordondelivery.com",
                    "https://evil.test/.gordondelivery.com"):  # fmt: skip
        assert not _allowed(settings.gordon_url_rules, refused), refused


def _allowed(rules: DestinationRules, url: str) -> bool:
    try:
        rules.judge(UrlParts.split(url))
    except DestinationRefused:
        return False
    return True


def test_dockerfile_is_multi_stage_non_root_with_a_healthcheck() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")

    assert re.findall(r"^FROM \S+ AS (\w+)$", dockerfile, flags=re.MULTILINE) == [
        "build",
        "runtime",
    ]
    assert "uv sync --frozen --no-dev --no-editable" in dockerfile
    assert re.search(r"^USER gordon:gordon$", dockerfile, flags=re.MULTILINE)
    assert "HEALTHCHECK" in dockerfile
    assert "/readyz" in dockerfile
    ignored = (REPO_ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert {".git", ".venv", "*.secret-key", "*.db"} <= set(ignored)


DOCKER_COMMAND = r"(?:[A-Z_]+=\S+ )*docker (?:run|build|buildx build) "


def _docker_commands(text: str) -> list[str]:
    """``docker run`` / ``docker build`` commands of a README, a doc or a Dockerfile comment: shell
    lines (continuation lines joined) and inline code spans."""
    lines = [re.sub(r"^#\s*", "", line).strip() for line in text.splitlines()]
    joined = "\n".join(lines).replace("\\\n", " ")
    shell = [line for line in joined.splitlines() if re.match(DOCKER_COMMAND, line)]
    return shell + re.findall(f"`({DOCKER_COMMAND}[^`]*)`", text)


@pytest.mark.parametrize("path", ["README.md", "Dockerfile", "docs/deploy.md"])
def test_docker_run_names_its_volume_and_docker_build_uses_buildkit(path: str) -> None:
    commands = _docker_commands((REPO_ROOT / path).read_text(encoding="utf-8"))
    runs = [command for command in commands if "docker run " in command]
    builds = [command for command in commands if "build " in command]

    for run in runs:
        assert re.search(r" -v saleor-gordon-data:/data ", run), run
    for build in builds:
        assert build.startswith(("DOCKER_BUILDKIT=1 docker build", "docker buildx build")), build
    assert builds, f"{path} shows no docker build"
    if path != "docs/deploy.md":
        assert runs, f"{path} shows no docker run"


def test_a_bind_mounted_data_directory_is_owned_by_the_image_user() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text(encoding="utf-8")
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")

    assert "useradd --system --uid 10001 --gid gordon" in dockerfile
    assert 'VOLUME ["/data"]' in dockerfile
    assert "install -d -o 10001 -g 10001 -m 0700 /srv/saleor-gordon" in readme
    assert "-v /srv/saleor-gordon:/data" in readme


def _section(text: str, title: str) -> str:
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_deploy_doc_says_what_an_upgrade_really_does() -> None:
    upgrade = _section((REPO_ROOT / "docs" / "deploy.md").read_text(), "Upgrading with migrations")

    assert "one by one" not in upgrade
    assert "**both web replicas at the same time**" in upgrade
    assert "`lb_try_duration`" in upgrade


def test_deploy_doc_has_the_security_model_with_its_settings() -> None:
    model = _section((REPO_ROOT / "docs" / "deploy.md").read_text(), "Security model")

    for needed in ("SALEOR_GORDON_ALLOWED_SALEOR_URLS", "SALEOR_GORDON_ALLOWED_GORDON_URLS",
                   "SALEOR_GORDON_METRICS_TOKEN", "64 KiB", "1 MiB", "10 s", "0600", "identifier",
                   "rate-limited", "`127.1`", "`2130706433`", "loopback URL", "`allow_lists`"):  # fmt: skip
        assert needed in model, needed


def test_storefront_example_validates_against_the_schema(saleor_schema_path: Path) -> None:
    document = parse((STOREFRONT / "SetGordonDelivery.graphql").read_text(encoding="utf-8"))

    assert validate(load_schema(saleor_schema_path), document) == []
    names = [
        d.name.value
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode) and d.name
    ]
    assert names == [
        "SetGordonDelivery",
        "CompleteCheckoutWithGordonDelivery",
        "ClearGordonEntryCode",
    ]


def test_the_app_reads_what_the_storefront_example_sets() -> None:
    """The example's metadata, on the order Saleor creates from the checkout, reaches Gordon."""
    variables: dict[str, Any] = json.loads(
        (STOREFRONT / "SetGordonDelivery.variables.json").read_text(encoding="utf-8")
    )
    keys = [item["key"] for item in variables["gordon"]]
    placed = order(metadata=variables["gordon"])

    result = translate_order(
        placed, config(), now=datetime.fromisoformat("2026-12-01T08:00:00+00:00")
    )

    assert keys == [META_DELIVERY_DATE, META_TIME_WINDOW, META_ENTRY_CODE]
    assert isinstance(result, Translated)
    sent = result.gordon_order.to_json()
    assert (sent["deliverydate"], sent["time-window"], sent["entrycode"]) == (
        "2026-12-03",
        "17:00 - 21:00",
        "1234",
    )
