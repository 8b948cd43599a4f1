"""``saleor-gordon fake-gordon``: its options and help."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from saleor_gordon import cli
from saleor_gordon.cli import fake_gordon


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    fake_gordon.add_arguments(parser)
    return parser.parse_args(argv)


def test_help_works_through_the_main_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["fake-gordon", "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "sandbox-client" in help_text
    assert "sandbox-secret" in help_text
    assert "/_sandbox/faults" in help_text


def test_defaults_bind_loopback_with_the_documented_credentials() -> None:
    args = parse()
    options = fake_gordon.options_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 8900)
    assert (options.client_id, options.client_secret) == ("sandbox-client", "sandbox-secret")
    assert options.delivery_groups == ()
    assert not options.tolerant_update


def test_options_are_passed_to_the_sandbox(tmp_path: Path) -> None:
    record = tmp_path / "requests.jsonl"
    args = parse(
        "--delivery-groups", "Gordon Store, Gordon Oslo,",
        "--tolerant-update",
        "--latency", "0.1",
        "--error-rate", "0.2",
        "--rate-limit-rate", "0.1",
        "--retry-after", "5",
        "--timeout-rate", "0.05",
        "--seed", "3",
        "--record-file", str(record),
    )  # fmt: skip
    options = fake_gordon.options_from_args(args)
    assert options.delivery_groups == ("Gordon Store", "Gordon Oslo")
    assert options.tolerant_update
    assert (options.latency, options.error_rate, options.rate_limit_rate) == (0.1, 0.2, 0.1)
    assert (options.retry_after, options.timeout_rate, options.seed) == (5.0, 0.05, 3)
    assert options.record_file == record


@pytest.mark.parametrize(
    "argv", [("--error-rate", "1.5"), ("--latency", "-1"), ("--timeout-rate", "x")]
)
def test_nonsense_values_are_refused(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parse(*argv)
    assert exit_info.value.code == 2
