"""Messages as data (``core/messages.py``): a ``Message`` is its English text carrying a code and
parameters from the one registry; every code the server writes is in that registry."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import saleor_gordon
from saleor_gordon.core.messages import (
    FULFILLMENT_REASONS,
    GORDON_ANSWERS,
    JOB_MESSAGES,
    MESSAGE_CODES,
    ORDER_PROBLEMS,
    PREVIEW_MESSAGES,
    SKIP_REASONS,
    Message,
)
from saleor_gordon.core.sync_decision import ORDER_DELETED, WITHDRAWN_ORDER_STATUSES, Fix
from saleor_gordon.core.translate import Problem

PACKAGE = Path(saleor_gordon.__file__).resolve().parent


def test_a_message_is_its_english_text_with_its_code_and_parameters() -> None:
    refused = Message.of(
        "job.gordon_refused", "Gordon refused: No such group", gordon_message="No such group"
    )

    assert refused == "Gordon refused: No such group"
    assert f"{refused}" == "Gordon refused: No such group"
    assert (refused.code, refused.params) == (
        "job.gordon_refused",
        {"gordon_message": "No such group"},
    )
    assert refused.to_json() == {
        "code": "job.gordon_refused",
        "params": {"gordon_message": "No such group"},
        "message": "Gordon refused: No such group",
    }


def test_nested_messages_and_lists_are_served_whole() -> None:
    reason = Message.of("skip.draft", "order 7 is a draft", number="7")
    skipped = Message.of("job.not_for_gordon", f"Not for Gordon: {reason}", reason=reason)
    waiting = Message.of(
        "job.waiting_for",
        "Waiting for ORDER_FULLY_PAID.",
        events=("ORDER_FULLY_PAID", "ORDER_CONFIRMED"),
    )

    assert skipped.to_json() == {
        "code": "job.not_for_gordon",
        "params": {
            "reason": {
                "code": "skip.draft",
                "params": {"number": "7"},
                "message": "order 7 is a draft",
            }
        },
        "message": "Not for Gordon: order 7 is a draft",
    }
    assert waiting.to_json()["params"] == {"events": ["ORDER_FULLY_PAID", "ORDER_CONFIRMED"]}


def test_an_unknown_code_or_other_parameters_are_refused() -> None:
    with pytest.raises(KeyError, match=r"job\.sent is not a message code"):
        Message.of("job.sent", "Sent.")
    with pytest.raises(
        TypeError, match=r"job\.pushed takes \['ref', 'tracking_id'\], not \['ref'\]"
    ):
        Message.of("job.pushed", "Gordon accepted order 7.", ref="7")


def _codes_built_in_the_package() -> set[str]:
    """The codes of every ``Message.of("code", …)`` and ``Problem(field, reason, fix, "code",
    …)`` with a literal code in the package, and of the string literals that are problem codes
    (the translation passes some to the function that builds the problem)."""
    codes: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "of"
                and getattr(node.func.value, "id", None) == "Message"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(str(node.args[0].value))
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.startswith("problem.")
            ):
                codes.add(node.value)
    return codes


def test_the_registry_holds_exactly_the_codes_the_server_writes() -> None:
    """Every code is built somewhere (a withdrawal's, in the job and in the preview, from the
    Saleor status that causes it), and the server builds no code outside the registry
    (``Message`` refuses one at run time too)."""
    withdrawn = {
        f"{family}.{status.lower()}"
        for family in ("job.withdrawn", "preview.withdraw")
        for status in WITHDRAWN_ORDER_STATUSES
    } | {f"job.withdrawn.{ORDER_DELETED.lower()}"}  # no preview: Saleor has no order to show

    assert _codes_built_in_the_package() | withdrawn == set(MESSAGE_CODES)
    assert set(MESSAGE_CODES) == (
        set(JOB_MESSAGES)
        | set(SKIP_REASONS)
        | set(ORDER_PROBLEMS)
        | set(GORDON_ANSWERS)
        | set(PREVIEW_MESSAGES)
        | set(FULFILLMENT_REASONS)
    )


def test_the_problems_of_an_order_are_served_without_field_paths() -> None:
    """The command line keeps each problem's field path; the page gets what is wrong and what
    to do, which a shop owner can read."""
    fix = Fix(
        (
            Problem(
                "shippingAddress.phone",
                "the number is not a valid phone number for SE",
                "Correct it.",
                "problem.shipping_phone_invalid",
                {"country": "SE"},
            ),
            Problem(
                "lines",
                "the order has no lines to deliver",
                "Add the products.",
                "problem.no_lines",
            ),
        )
    )

    assert fix.message == (
        "shippingAddress.phone: the number is not a valid phone number for SE. Correct it. "
        "lines: the order has no lines to deliver. Add the products."
    )
    assert fix.message.to_json()["params"] == {
        "problems": [
            {
                "code": "problem.shipping_phone_invalid",
                "params": {"country": "SE"},
                "message": "the number is not a valid phone number for SE. Correct it.",
            },
            {
                "code": "problem.no_lines",
                "params": {},
                "message": "the order has no lines to deliver. Add the products.",
            },
        ]
    }


def test_a_problem_takes_only_a_problem_code_with_its_parameters() -> None:
    with pytest.raises(KeyError, match=r"job\.crashed is not a problem code"):
        Problem("order", "r", "f", "job.crashed")
    with pytest.raises(TypeError, match=r"problem\.no_city takes \[\], not \['city'\]"):
        Problem("shippingAddress.city", "r", "f", "problem.no_city", {"city": "Lund"})
