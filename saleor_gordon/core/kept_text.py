"""The one rule for text the app keeps: what a column holds on both databases and a log line shows
as it is. Whoever sent the text (a claimed Saleor, the shop's Gordon URL, a staff user) chose it."""

from __future__ import annotations

__all__ = ["keepable_text"]


def keepable_text(text: str, limit: int) -> bool:
    """Whether ``text`` is one printable line of at most ``limit`` characters: no NUL (PostgreSQL
    refuses it, even in a comparison), no line break (it would forge a log line), no lone
    surrogate (JSON can carry one, UTF-8 cannot encode it)."""
    return len(text) <= limit and text.isprintable()
