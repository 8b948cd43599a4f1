"""parse_json: the one JSON parser of every entry point."""

from __future__ import annotations

import pytest

from saleor_gordon.json_text import JsonUnusable, parse_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": [1, 2.5, "å", null, true]}', {"a": [1, 2.5, "å", None, True]}),
        ('{"å": 1}'.encode(), {"å": 1}),
        ("[]", []),
    ],
    ids=["text", "utf-8-bytes", "array"],
)
def test_parses_json(text: str | bytes, expected: object) -> None:
    assert parse_json(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            "{not json",
            "is not valid JSON (line 1, column 2: Expecting property name enclosed in double quotes)",
        ),
        ("", "is not valid JSON (line 1, column 1: Expecting value)"),
        (b'{"a": "\xff"}', "is not valid JSON: the text is not UTF-8"),
        ("[" * 100_000, "is not usable JSON: it is nested too deeply"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "is not usable JSON: it is nested too deeply"),
    ],
    ids=["malformed", "empty", "not-utf-8", "deep-array", "deep-object"],
)
def test_every_failure_is_one_error_with_a_reason(text: str | bytes, reason: str) -> None:
    with pytest.raises(JsonUnusable) as caught:
        parse_json(text)

    assert caught.value.reason == reason
    assert isinstance(caught.value, ValueError)


def test_an_integer_too_long_to_convert_is_unusable() -> None:
    """Python refuses to convert integers of more than 4300 digits with a plain ValueError."""
    with pytest.raises(JsonUnusable) as caught:
        parse_json("1" * 5000)

    assert caught.value.reason.startswith("is not usable JSON: Exceeds the limit (4300 digits)")


def test_a_refusing_object_pairs_hook_is_unusable() -> None:
    def no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
        if len({key for key, _ in pairs}) != len(pairs):
            raise ValueError("duplicate key")
        return dict(pairs)

    assert parse_json('{"a": 1}', object_pairs_hook=no_duplicates) == {"a": 1}
    with pytest.raises(JsonUnusable) as caught:
        parse_json('{"a": 1, "a": 2}', object_pairs_hook=no_duplicates)

    assert caught.value.reason == "is not usable JSON: duplicate key"
