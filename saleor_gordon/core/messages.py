"""What the app tells a person, as data: a code and its parameters.

The Dashboard pages word each code in the staff user's language from their message catalogues
(``static/dashboard/i18n/<locale>.json``, key = code, ``{name}`` = a parameter); the command line
and the logs keep the English sentence the server wrote beside the code. A catalogue test checks
that every code below is in every catalogue with exactly these parameters.

``CONFIG_PROBLEMS``: the problems of a shop configuration (``errors.ConfigProblem.code``).
``CONNECTION_RESULTS``: what *Test connection* found (``gordon.client.CredentialCheck.problem``,
or ``ok``).
``JOB_MESSAGES``: what a sync job did with an order (its status message and each history entry),
and why an order is not for Gordon (``SKIP_REASONS``) and where its fulfillment stands
(``FULFILLMENT_REASONS``): written as a ``Message``, stored as code, parameters and English
(``jobs/queue.py``), served by the Dashboard API as ``{code, params, message}``. In them, and in
the *Send to Gordon* preview: the order's problems (``ORDER_PROBLEMS``), what an answer of
Gordon's means (``GORDON_ANSWERS``) and what sending would do (``PREVIEW_MESSAGES``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, TypeAlias

CONFIG_PROBLEMS: Final[Mapping[str, tuple[str, ...]]] = {
    "config.not_an_object": (),
    "config.unknown_key": ("key",),
    "config.required": (),
    "config.not_a_url": ("value",),
    "config.url_too_long": ("limit",),
    "config.url_not_plain": (),
    "config.url_extra_parts": (),
    "config.url_bad_host": (),
    "config.url_not_allowed": ("setting",),
    "config.url_internal": (),
    "config.url_not_https": (),
    "config.not_allowed": ("value",),
    "config.not_a_time_zone": ("value",),
    "config.not_a_time": ("value",),
    "config.weekdays_required": (),
    "config.not_weekdays": ("days",),
    "config.not_a_holiday_country": ("value",),
    "config.not_a_time_window": ("value",),
    "config.time_window_backwards": ("value",),
    "config.trigger_events_required": (),
    "config.delivery_groups_required": (),
    "config.too_small": ("limit",),
    "config.too_large": ("limit",),
    "config.wrong_type": (),
    "config.no_delivery_day": (),
    "config.tracking_url_no_placeholder": ("placeholder",),
    "config.tracking_url_placeholder_twice": ("placeholder", "count"),
    "config.tracking_url_braces": ("placeholder",),
    "config.tracking_url_spaces": (),
    "config.tracking_url_too_long": ("placeholder", "limit", "length"),
    "config.prefix_unusable": ("limit",),
}

CONNECTION_RESULTS: Final[Mapping[str, tuple[str, ...]]] = {
    "connection.ok": (),
    "connection.credentials": (),
    "connection.unreachable": (),
    "connection.base_url": (),
    "connection.unavailable": (),
}


class CodedValueError(ValueError):
    """A ``ValueError`` that also carries its message as a code and parameters.

    Raised by validators: pydantic keeps the exception in the error's context, so the code
    survives validation; ``str()`` is the English sentence.
    """

    def __init__(self, code: str, english: str, **params: object) -> None:
        if code not in CONFIG_PROBLEMS:
            raise KeyError(f"{code} is not a configuration problem code")
        self.code = code
        self.params: dict[str, object] = params
        super().__init__(english)


SKIP_REASONS: Final[Mapping[str, tuple[str, ...]]] = {
    "skip.draft": ("number",),
    "skip.no_shipping": ("number",),
    "skip.click_and_collect": ("number", "warehouse"),
    "skip.no_rule": ("channel", "shipping_method"),
}

JOB_MESSAGES: Final[Mapping[str, tuple[str, ...]]] = {
    # Gordon has the order
    "job.pushed": ("ref", "tracking_id"),
    "job.pushed_without_tracking": ("ref",),
    "job.pushed_with_warnings": ("pushed", "warnings"),
    "job.unchanged": (),
    # Gordon refused or did not answer (``gordon_message``: Gordon's own words, shown as they are;
    # ``reason`` and ``detail``: a ``gordon.*`` message, what Gordon's answer means)
    "job.gordon_refused": ("gordon_message",),
    "job.gordon_refused_explained": ("reason",),
    "job.gordon_unavailable": ("detail",),
    "job.no_answer": (),
    "job.retrying": ("cause", "retry_at"),
    "job.gave_up": ("cause", "attempts", "hours"),
    # cancelled, withdrawn, skipped
    "job.withdrawn.canceled": ("ref",),
    "job.withdrawn.expired": ("ref",),
    "job.withdrawn.deleted": ("ref",),
    "job.withdraw_refused": ("ref", "gordon_message"),
    "job.withdraw_refused_explained": ("ref", "reason"),
    "job.cancelled_before_sent": (),
    "job.expired_before_sent": (),
    "job.waiting_for": ("events",),
    "job.not_for_gordon": ("reason",),
    "job.uninstalled": (),
    "job.order_gone": (),
    "job.order_deleted_meanwhile": (),
    # a person must act
    "job.order_problems": ("problems",),
    "job.not_configured": (),
    "job.config_invalid": (),
    "job.saleor_refused": ("detail",),
    "job.saleor_refused_status": ("status",),
    "job.saleor_answer_unusable": (),
    "job.order_unreadable": (),
    # the app's own side
    "job.saleor_unavailable": (),
    "job.store_unavailable": (),
    "job.token_revoked": (),
    "job.crashed": (),
    "job.written_back": (),
    "job.write_back_error": (),
    "job.write_back_failed": ("then",),
    "job.lease_taken_over": ("expired_at",),
    # an attempt stopped before it finished (``seconds``: its deadline, or how long it waited
    # before slow servers had to give back its worker; ``share`` of the ``workers`` they may use)
    "job.stopped_at_deadline": ("seconds",),
    "job.stopped_for_other_shops": ("seconds", "share", "workers"),
    # the order's fulfillment in Saleor, once Gordon has the order (``detail``: where it stands
    # and why, a message of FULFILLMENT_REASONS; in entries written before those existed, its
    # English text)
    "job.fulfilled_in_saleor": ("tracking_number",),
    "job.fulfilled_waiting_approval": ("tracking_number",),
    "job.tracking_set": ("tracking_number",),
    "job.fulfillment_problem": ("detail",),
    "job.fulfillment_failed": ("done", "detail"),
}
"""Nested messages: ``job.write_back_failed``'s ``then``, ``job.gave_up``'s and ``job.retrying``'s
``cause``, ``job.pushed_with_warnings``'s ``pushed``, ``job.fulfillment_failed``'s ``done``,
``job.not_for_gordon``'s ``reason``, ``job.gordon_refused_explained``'s and
``job.withdraw_refused_explained``'s ``reason`` and ``job.gordon_unavailable``'s ``detail`` (a
``gordon.*`` message; a plain English text in rows stored before it was coded).
``events`` is a list of order event names (the pages word them as ``trigger.<EVENT>``);
``warnings`` and ``problems`` are lists of the order's problems (``problem.*`` messages,
``core/translate.py``'s ``Problem.advice``: what is wrong and what to do, no field paths; plain
English texts in rows stored before they were coded);
``retry_at`` and ``expired_at`` are ISO 8601 instants (the pages show them in the shop's time
zone); ``hours`` is a duration in hours, fractions included (the pages show it in minutes below
an hour); ``status`` an HTTP status; ``gordon_message`` and ``job.saleor_refused``'s
``detail`` are Gordon's or Saleor's own words; the ``detail`` of ``job.fulfillment_problem`` and
``job.fulfillment_failed`` is a nested message (the fulfillment's reason), plain English in
entries written before it was coded."""

# --- what the shop owner reads about an order's data, Gordon's answers and "Send to Gordon" ---

ORDER_PROBLEMS: Final[Mapping[str, tuple[str, ...]]] = {
    # the order's data (``core/translate.py``'s ``Problem``: what is wrong and what to do)
    "problem.order_unreadable": (),
    "problem.order_id_unusable": ("limit",),
    "problem.order_number_unusable": ("limit",),
    "problem.no_number": (),
    "problem.no_shipping_address": (),
    "problem.no_street_address": (),
    "problem.no_postal_code": (),
    "problem.no_city": (),
    "problem.no_customer_name": (),
    "problem.no_phone": (),
    "problem.shipping_phone_invalid": ("country",),
    "problem.shipping_phone_invalid_billing_used": ("country",),
    "problem.billing_phone_invalid": ("country",),
    "problem.order_time_window": ("value",),
    "problem.rule_time_window": ("value",),
    "problem.method_time_window": ("value",),
    "problem.default_time_window": ("value",),
    "problem.no_time_window": (),
    "problem.delivery_date_invalid": ("value",),
    "problem.delivery_date_past": ("date", "today"),
    "problem.no_created": (),
    "problem.no_delivery_day": (),
    "problem.no_lines": (),
    "problem.negative_quantity": ("line", "quantity"),
    "problem.no_product_name": ("line",),
    "problem.item_type_invalid": ("line", "value"),
    "problem.weight_unit_unknown": ("line", "unit"),
    "problem.no_longer_for_gordon": ("reason",),
}
"""An order's problems and warnings: ``country`` is an ISO 3166 code (the pages name the
country), ``date`` and ``today`` ISO dates, ``line`` the line's number (1 = the first),
``limit`` the most characters the app keeps of the order's id or number."""

GORDON_ANSWERS: Final[Mapping[str, tuple[str, ...]]] = {
    # Gordon did not take a request, for now (``core.outcomes.Retryable.reason``): a clause
    "gordon.answered_status": ("status",),
    "gordon.answered_status_said": ("status", "gordon_message"),
    "gordon.no_answer": ("seconds",),
    "gordon.answer_too_large": ("limit",),
    # Gordon refused a request (``core.outcomes.Rejected.message``): a sentence with what to do
    "gordon.refused": ("status", "gordon_message"),
    "gordon.refused_status": ("status",),
    "gordon.credentials_refused": ("status",),
    "gordon.credentials_refused_said": ("status", "gordon_message"),
    "gordon.not_json": ("status",),
    "gordon.tracking_id_unusable": ("status", "limit"),
    "gordon.redirect": ("status",),
    "gordon.token_unexpected": ("status",),
    "gordon.token_missing": ("status",),
    "gordon.no_external_ref": (),
    "gordon.not_found_on_create": ("ref",),
    "gordon.base_url_not_allowed": (),
    "gordon.base_url_unusable": (),
}
"""What a Gordon answer (or its absence) means: ``status`` is the HTTP status, ``gordon_message``
Gordon's own words (shown as Gordon wrote them), ``seconds`` the deadline, ``limit`` bytes.
``gordon.refused``'s English is Gordon's words alone."""

PREVIEW_MESSAGES: Final[Mapping[str, tuple[str, ...]]] = {
    # what "Send to Gordon" would do now (``shop_actions.preview_send``); the other answers of the
    # preview are the job's own messages (unchanged, not for Gordon, waiting, problems, settings)
    "preview.send": ("ref",),
    "preview.update": ("ref",),
    "preview.withdraw.canceled": ("ref",),
    "preview.withdraw.expired": ("ref",),
}

FULFILLMENT_REASONS: Final[Mapping[str, tuple[str, ...]]] = {
    # where the order's fulfillment stands in Saleor, and why (core/fulfillment.py,
    # core/fulfillment_outcomes.py, jobs/attempt.py): the job's fulfillment_message
    "fulfillment_reason.off": (),
    "fulfillment_reason.not_in_gordon": (),
    "fulfillment_reason.order_cancelled": (),
    "fulfillment_reason.order_expired": (),
    "fulfillment_reason.order_draft": (),
    "fulfillment_reason.awaiting_fulfillment": (),
    "fulfillment_reason.fulfilling": (),
    "fulfillment_reason.adding": ("count",),
    "fulfillment_reason.waiting_for_approval": (),
    "fulfillment_reason.cancelled_in_saleor": (),
    "fulfillment_reason.done": (),
    "fulfillment_reason.kept": ("count",),
    "fulfillment_reason.done_and_kept": ("count",),
    "fulfillment_reason.not_paid": (),
    "fulfillment_reason.not_confirmed": (),
    "fulfillment_reason.not_allocated": ("lines",),
    "fulfillment_reason.not_stocked": ("lines", "count"),
    "fulfillment_reason.not_enough_stock": ("lines",),
    "fulfillment_reason.not_enough_stock_in": ("lines", "warehouses"),
    "fulfillment_reason.saleor_not_paid": (),
    "fulfillment_reason.saleor_refused": ("detail",),
    "fulfillment_reason.saleor_failed": ("detail",),
    "fulfillment_reason.order_kept_changing": (),
}
"""``lines`` are the order lines concerned and ``warehouses`` the warehouses, by their names in
Saleor (shown as they are, as a list in the locale); ``count`` is how many products
(``not_stocked``) or fulfillments (plural forms); ``detail`` is Saleor's own words."""

MESSAGE_CODES: Final[Mapping[str, tuple[str, ...]]] = {
    **JOB_MESSAGES,
    **SKIP_REASONS,
    **ORDER_PROBLEMS,
    **GORDON_ANSWERS,
    **PREVIEW_MESSAGES,
    **FULFILLMENT_REASONS,
}
"""Every code a ``Message`` may carry, with its parameters."""

Param: TypeAlias = "str | int | float | Message | Sequence[str] | None"
"""A parameter: a value, a nested message, or a list of values or messages."""


class Message(str):
    """A sentence the app tells a person: the English text (a ``str``: logs, the CLI, the order's
    metadata and older readers use it as it is) carrying its ``code`` and ``params``, from which
    the Dashboard pages word it in the staff user's language.

    Built with ``Message.of(code, english, **params)``: the code and exactly its parameters must
    be in ``MESSAGE_CODES``. Equal to its English text (a ``str`` comparison).
    """

    code: str
    params: Mapping[str, Param]

    def __new__(cls, english: str, code: str, params: Mapping[str, Param]) -> Message:
        expected = MESSAGE_CODES.get(code)
        if expected is None:
            raise KeyError(f"{code} is not a message code (core.messages.MESSAGE_CODES)")
        if set(params) != set(expected):
            raise TypeError(f"{code} takes {sorted(expected)}, not {sorted(params)}")
        message = super().__new__(cls, english)
        message.code = code
        message.params = dict(params)
        return message

    @classmethod
    def of(cls, code: str, english: str, **params: Param) -> Message:
        return cls(english, code, params)

    def to_json(self) -> dict[str, Any]:
        """``{code, params, message}``, nested messages as objects too (what is stored and
        served)."""
        return {"code": self.code, "params": _params_json(self.params), "message": str(self)}


def _params_json(params: Mapping[str, Param]) -> dict[str, Any]:
    return {name: _param_json(value) for name, value in params.items()}


def _param_json(value: Param) -> Any:
    if isinstance(value, Message):
        return value.to_json()
    if isinstance(value, str | int | float) or value is None:
        return value
    return [_param_json(item) for item in value]
