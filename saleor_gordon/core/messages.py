"""What the app tells a person, as data: a code and its parameters.

The Dashboard pages word each code in the staff user's language from their message catalogues
(``static/dashboard/i18n/<locale>.json``, key = code, ``{name}`` = a parameter); the command line
and the logs keep the English sentence the server wrote beside the code. A catalogue test checks
that every code below is in every catalogue with exactly these parameters.

``CONFIG_PROBLEMS``: the problems of a shop configuration (``errors.ConfigProblem.code``).
``CONNECTION_RESULTS``: what *Test connection* found (``gordon.client.CredentialCheck.problem``,
or ``ok``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

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
