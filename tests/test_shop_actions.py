"""What the *Send to Gordon* popup's headline says for a preview (``SendPreview.headline``)."""

from __future__ import annotations

import pytest

from saleor_gordon.core.messages import Message
from saleor_gordon.shop_actions import SendAction, SendPreview

WITHDRAW_MESSAGES = {
    "CANCELED": Message.of(
        "preview.withdraw.canceled",
        "The order will be withdrawn from Gordon: the order is canceled in Saleor.",
        ref="45",
    ),
    "EXPIRED": Message.of(
        "preview.withdraw.expired",
        "The order will be withdrawn from Gordon: the order is expired in Saleor.",
        ref="45",
    ),
}


@pytest.mark.parametrize(
    ("status", "headline"), [("CANCELED", "withdraw"), ("EXPIRED", "withdraw_expired")]
)
def test_a_withdrawal_s_headline_says_why_the_order_leaves_gordon(
    status: str, headline: str
) -> None:
    """An unconfirmed order that expired is withdrawn too, but it was never cancelled."""
    preview = SendPreview(
        "T3JkZXI6MQ==", "45", "withdraw", WITHDRAW_MESSAGES[status], withdrawn_as=status
    )

    assert preview.headline == headline


@pytest.mark.parametrize("action", ["send", "update", "unchanged", "skip", "fix", "not_configured"])
def test_any_other_preview_s_headline_is_its_action(action: SendAction) -> None:
    unchanged = Message.of("job.unchanged", "Gordon already has this content.")

    assert SendPreview("T3JkZXI6MQ==", "45", action, unchanged).headline == action
