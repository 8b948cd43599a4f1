"""The Dashboard pages' message catalogues (``saleor_gordon/static/dashboard/i18n/<locale>.json``).

Every locale has every key with the same placeholders (in every plural form); every key is used by
the pages or is a code the server sends; every code the server sends is in the catalogues with the
parameters the server gives; no message shows an internal identifier to a shop owner. No browser:
the catalogues are data and the pages' sources are text.
"""

from __future__ import annotations

import ast
import json
import re
import string
from pathlib import Path
from typing import Any, get_args

import pytest

import saleor_gordon
from saleor_gordon.core.fulfillment import TRACKING_MODES, FulfillmentState
from saleor_gordon.core.gordon_order import ITEM_TYPES
from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.core.messages import (
    CONFIG_PROBLEMS,
    CONNECTION_RESULTS,
    FULFILLMENT_REASONS,
    GORDON_ANSWERS,
    JOB_MESSAGES,
    MESSAGE_CODES,
    ORDER_PROBLEMS,
    PREVIEW_MESSAGES,
    SKIP_REASONS,
)
from saleor_gordon.core.shop_config import TRIGGER_EVENTS
from saleor_gordon.shop_actions import PreviewHeadline
from saleor_gordon.web.dashboard_auth import MANAGE_APPS, MANAGE_ORDERS
from saleor_gordon.web.dashboard_knowledge import GORDON_ENVIRONMENTS

PACKAGE = Path(saleor_gordon.__file__).resolve().parent
STATIC = PACKAGE / "static" / "dashboard"
LOCALES = ("en", "sv", "nb", "da")
PAGE_SOURCES = sorted(STATIC.glob("*.js"))

# Codes of refusals a page can receive: the Dashboard API's own, the app-wide ones its handlers
# answer with (error_responses.py), and the page's own for an unreachable app.
APP_WIDE_CODES = {
    "STORE_UNAVAILABLE",
    "SECRETS_UNREADABLE",
    "INTERNAL_ERROR",
    "NOT_FOUND",
    "WRONG_METHOD",
    "HTTP_ERROR",
    "PAYLOAD_TOO_LARGE",
    "JWKS_UNAVAILABLE",
    "INVALID_REQUEST_JSON",
    "NETWORK",
}
REFUSAL_PARAMS = {"PERMISSION_DENIED": {"permissions"}, "NOTHING_TO_RETRY": {"status"}}
# Internal names a shop owner never reads: event names and codes (ORDER_FULLY_PAID), snake_case
# column, status and key names (needs_attention, last_message), exception class names.
INTERNAL = re.compile(
    r"\b[A-Z]+_[A-Z_]+\b|\b[a-z]+_[a-z_]+\b|\b[A-Z][a-z]+(?:Error|Exception)\b|JWKS"
)
# metadata the shop owner writes in Saleor (products, orders, shipping methods)
MUST_TYPE = {"gordon.type", "gordon.time_window", "gordon.delivery_date"}


def catalogue(locale: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((STATIC / "i18n" / f"{locale}.json").read_text("utf-8"))
    return data


def forms(message: Any) -> list[str]:
    """A message's texts: its plural forms (not the name of the parameter it counts)."""
    if isinstance(message, dict):
        return [form for name, form in message.items() if name != "count"]
    return [message]


def plural_form(message: Any, params: dict[str, str]) -> str:
    """The text of ``message`` for ``params`` (en, sv, nb, da: "one" for 1, else "other"), as
    i18n.js picks it."""
    if not isinstance(message, dict):
        return str(message)
    return message["one"] if params.get(counted(message)) == "1" else message["other"]


def counted(message: dict[str, str]) -> str:
    """The parameter a plural message counts: ``count``, or the one it names (a stored message
    keeps the parameters it was written with, e.g. ``attempts``)."""
    return message.get("count", "count")


def placeholders(message: Any) -> set[str]:
    return {
        name for form in forms(message) for _, name, _, _ in string.Formatter().parse(form) if name
    }


def dashboard_refusal_codes() -> set[str]:
    """``DashboardRequestRefused("CODE", …)`` anywhere in the package."""
    codes: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "DashboardRequestRefused"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(str(node.args[0].value))
    return codes


def page_source() -> str:
    return "\n".join(path.read_text("utf-8") for path in PAGE_SOURCES)


def python_literals() -> set[str]:
    literals: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                literals.add(node.value)
    return literals


def server_keys() -> dict[str, set[str]]:
    """Every key the server's data names, with the parameters it comes with."""
    keys: dict[str, set[str]] = {}
    keys.update({code: set(params) for code, params in CONFIG_PROBLEMS.items()})
    keys.update({code: set(params) for code, params in CONNECTION_RESULTS.items()})
    keys.update({code: set(params) for code, params in MESSAGE_CODES.items()})
    for code in dashboard_refusal_codes() | APP_WIDE_CODES:
        keys[f"error.{code}"] = REFUSAL_PARAMS.get(code, set())
    keys.update({f"status.{status.value}": set() for status in JobStatus})
    keys.update({f"trigger.{event}": set() for event in TRIGGER_EVENTS})
    keys.update({f"item_type.{item}": set() for item in ITEM_TYPES})
    keys.update({f"environment.{env['id']}": set() for env in GORDON_ENVIRONMENTS})
    keys.update({f"permission.{name}": set() for name in (MANAGE_ORDERS, MANAGE_APPS)})
    return keys


def page_families() -> dict[str, set[str]]:
    """Keys a page builds from server data, with the parameters it offers (a message may use
    fewer: "Nothing to send." needs no order number)."""
    return {
        **{f"send.headline_{headline}": {"number"} for headline in get_args(PreviewHeadline)},
        **{f"fulfillment.{state.value}": set() for state in FulfillmentState},
        **{f"tracking_mode.{mode}": set() for mode in TRACKING_MODES},
    }


def test_the_catalogues_are_the_four_locales_the_pages_offer() -> None:
    assert sorted(p.stem for p in (STATIC / "i18n").glob("*.json")) == sorted(LOCALES)
    assert 'export const LOCALES = ["en", "sv", "nb", "da"];' in page_source()


@pytest.mark.parametrize("locale", LOCALES[1:])
def test_every_locale_has_every_key_with_the_same_placeholders(locale: str) -> None:
    english, other = catalogue("en"), catalogue(locale)

    assert sorted(other) == sorted(english)
    different = {
        key: (placeholders(english[key]), placeholders(other[key]))
        for key in english
        if placeholders(english[key]) != placeholders(other[key])
        or isinstance(english[key], dict) != isinstance(other[key], dict)
        or (isinstance(english[key], dict) and counted(english[key]) != counted(other[key]))
    }
    assert different == {}


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_messages_have_the_forms_of_the_locale_and_the_same_placeholders(
    locale: str,
) -> None:
    for key, message in catalogue(locale).items():
        if isinstance(message, dict):
            assert sorted(set(message) - {"count"}) == ["one", "other"], key  # en, sv, nb, da
            assert counted(message) in placeholders(message), key
            assert len({frozenset(placeholders(form)) for form in forms(message)}) == 1, key


def test_every_code_the_server_sends_is_worded_with_its_parameters() -> None:
    english = catalogue("en")

    missing = sorted((set(server_keys()) | set(page_families())) - set(english))
    wrong = {
        key: (sorted(params), sorted(placeholders(english[key])))
        for key, params in server_keys().items()
        if key in english and placeholders(english[key]) != params
    }
    wrong |= {
        key: (sorted(params), sorted(placeholders(english[key])))
        for key, params in page_families().items()
        if key in english and not placeholders(english[key]) <= params
    }

    assert (missing, wrong) == ([], {})


def test_the_job_messages_are_exactly_the_registrys_codes() -> None:
    """The history's and the job's messages, the order's problems, Gordon's answers explained
    and the preview of "Send to Gordon": every code the server can write (one registry,
    ``core.messages.MESSAGE_CODES``) is worded in every locale with its parameters (above), and no
    key of these families is left over from a code the server no longer writes."""
    assert MESSAGE_CODES == {
        **JOB_MESSAGES,
        **SKIP_REASONS,
        **ORDER_PROBLEMS,
        **GORDON_ANSWERS,
        **PREVIEW_MESSAGES,
        **FULFILLMENT_REASONS,
    }
    families = ("job.", "skip.", "problem.", "gordon.", "preview.", "fulfillment_reason.")
    for locale in LOCALES:
        worded = {key for key in catalogue(locale) if key.startswith(families)}
        assert sorted(worded ^ set(MESSAGE_CODES)) == [], locale


def test_every_key_is_used() -> None:
    """A key is used when a page names it, or it is a code the server sends, or it belongs to a
    family a page builds from server data (the history's steps: their action and outcome are
    names the worker writes)."""
    source = page_source()
    literal = set(re.findall(r'"([a-z_]+\.[A-Za-z0-9_.-]+)"', source))
    served = set(server_keys()) | set(page_families())
    words = python_literals()
    unused = []
    for key in catalogue("en"):
        if key in literal or key in served:
            continue
        if key.startswith("history.") and "`history.${entry.action}" in source:
            parts = key.split(".")[1:]
            if all(part in words for part in parts):
                continue
        if key.startswith("gordon_field."):
            field = key.removeprefix("gordon_field.")
            if f'"{field}"' in source:
                continue
        unused.append(key)
    assert unused == []


@pytest.mark.parametrize("locale", LOCALES)
def test_no_message_shows_an_internal_identifier(locale: str) -> None:
    found = {}
    for key, message in catalogue(locale).items():
        for form in forms(message):
            text = form
            for allowed in MUST_TYPE:
                text = text.replace(allowed, "")
            text = re.sub(r"\{\w+\}", "", text)  # placeholders are filled with words
            hits = INTERNAL.findall(text)
            if hits:
                found[key] = hits
    assert found == {}


def test_the_internal_identifier_check_catches_what_the_issue_saw() -> None:
    """The pattern above finds the words the shop owner saw before (and nothing in plain prose)."""
    seen = [
        "Waiting for ORDER_FULLY_PAID.",
        "check: settled, write_back: written",
        "ConnectError: All connection attempts failed",
        "is not in the JWKS",
        "status needs_attention",
    ]
    assert all(INTERNAL.search(text) for text in seen)
    assert not INTERNAL.search("Gordon accepted order 1042; tracking ID GD-7 (17:00 - 21:00).")


def labelled_buttons() -> list[tuple[str, str]]:
    """(accessible name key, visible text key) of every page button whose ``aria-label`` says
    more than its text ("Retry" / "Retry order #1002")."""
    pairs = []
    for button in re.findall(r"<button\b.*?</button>", page_source(), flags=re.DOTALL):
        label = re.search(r'aria-label=\$\{t\("([\w.]+)"', button)
        text = re.search(r'>\$\{t\("([\w.]+)"\)\}</button>$', button)
        if label and text:
            pairs.append((label[1], text[1]))
    return pairs


def test_the_buttons_found_with_a_longer_name_are_the_pages() -> None:
    assert sorted(labelled_buttons()) == [
        ("config.remove_rule", "config.remove"),
        ("fulfil_again.action_order", "fulfil_again.action"),
        ("orders.history_of", "orders.history"),
        ("orders.retry_order", "orders.retry"),
    ]


@pytest.mark.parametrize("locale", LOCALES)
def test_a_buttons_accessible_name_contains_its_visible_text(locale: str) -> None:
    """WCAG 2.5.3 (label in name): someone who says "click Prøv igen" to voice control, or reads
    the button, must find it by the words it shows. Danish and Norwegian put the order number
    inside the words ("Prøv ordre #1002 igen"), so Retry had a name without its text."""
    words = catalogue(locale)
    apart = {
        label: (words[text], words[label])
        for label, text in labelled_buttons()
        if words[text].casefold() not in words[label].casefold()
    }
    assert apart == {}
