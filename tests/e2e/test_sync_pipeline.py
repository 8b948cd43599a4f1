"""End to end: from order webhook to Gordon and back, exactly once in effect.

The app runs as real processes (``saleor-gordon serve``, ``saleor-gordon worker``); Saleor is the
fake that executes the real schema and signs its webhooks; Gordon is the sandbox. Everything talks
over loopback sockets.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saleor_gordon.core.shop_config import parse_shop_config
from tests.e2e.conftest import RunningSaleorFake, Stack, shop_config

pytestmark = pytest.mark.slow


async def test_paid_order_is_pushed_once_and_tracking_written_back(stack: Stack) -> None:
    # given a paid order
    order = stack.paid_order()

    # when Saleor tells the app, three times (a redelivered webhook)
    await stack.emit("ORDER_FULLY_PAID", order["id"], times=3)

    # then Gordon received one PUT with the order, and the order carries the tracking ID
    await stack.wait_until(lambda: stack.metadata(order).get("gordon.tracking_id"))
    await stack.wait_until(lambda: stack.private_metadata(order).get("gordon.status") == "synced")
    await stack.wait_quiet()
    # one PUT ("not found": the sandbox's PUT does not create) and one POST that created it
    [put] = stack.gordon_requests("PUT", order)
    [post] = stack.gordon.state.requests(method="POST", path="/api/orders")
    assert (put["status"], post["status"]) == (404, 200)
    assert post["body"] == put["body"]
    body = put["body"]
    assert body["external_ref"] == order["number"]
    assert body["address"] == "Segeltorpsvägen 42"
    assert body["zip"] == "12553"
    assert body["mobile"] == "+46702286810"
    assert body["deliverygroup"] == "Gordon Store"
    assert body["time-window"] == "17:00 - 21:00"
    tracking_id = stack.gordon.state.orders[order["number"]].tracking_id
    assert stack.metadata(order)["gordon.tracking_id"] == tracking_id
    private = stack.private_metadata(order)
    assert private["gordon.external_ref"] == order["number"]
    assert "gordon.synced_at" in private
    assert "gordon.error" not in private
    # only the metadata mutations were used to write back
    fields = {mutation.field for mutation in stack.saleor.state.mutations}
    assert fields <= {"updateMetadata", "updatePrivateMetadata", "deletePrivateMetadata"}
    job = await stack.job_for(order)
    assert job["status"] == "synced"
    assert job["tracking_id"] == tracking_id


async def _synced(stack: Stack, order: dict[str, Any]) -> None:
    await _settled_as(stack, order, "synced")


async def _settled_as(stack: Stack, order: dict[str, Any], status: str) -> None:
    """Wait until the order says ``status`` and its job has recorded it."""
    await stack.wait_until(lambda: stack.private_metadata(order).get("gordon.status") == status)

    async def recorded() -> bool:
        job = await stack.job_for(order)
        return job["status"] == status and not job["in_progress"]

    await stack.wait_until(recorded)


async def _history_length(stack: Stack, order: dict[str, Any]) -> int:
    return len((await stack.job_for(order))["history"])


async def test_address_change_after_push_pushes_again(stack: Stack) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)

    # when staff change the shipping address
    address = {
        **order["shippingAddress"],
        "streetAddress1": "Götgatan 12",
        "streetAddress2": "Lgh 1203",
    }
    stack.saleor.state.update_order(order["id"], shippingAddress=address)
    await stack.emit("ORDER_UPDATED", order["id"])

    # then Gordon gets a second PUT with the new address
    await stack.wait_until(lambda: stack.puts(order) == 2)
    second = stack.gordon_requests("PUT", order)[1]["body"]
    assert (second["address"], second["address2"]) == ("Götgatan 12", "Lgh 1203")
    await stack.wait_quiet()
    assert stack.puts(order) == 2


async def test_update_gordon_does_not_see_causes_no_push_and_no_history_entry(
    stack: Stack,
) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)
    await stack.wait_quiet()
    before = await stack.job_for(order)

    # when an ORDER_UPDATED changes nothing that goes to Gordon (the total, say)
    stack.saleor.state.update_order(
        order["id"], total={"gross": {"amount": 1.0, "currency": "SEK"}}
    )
    await stack.emit("ORDER_UPDATED", order["id"])

    # then the job looks again (the event made it due; quiet: that attempt is recorded), finds
    # the content unchanged, makes no Gordon call, and adds nothing a person reads: the order
    # widget still says Gordon accepted the order
    await stack.wait_quiet()
    assert stack.puts(order) == 1
    job = await stack.job_for(order)
    assert job["status"] == "synced"
    assert "ORDER_UPDATED" in job["events_seen"]
    assert job["updated_at"] > before["updated_at"]
    assert job["history"] == before["history"]
    assert before["last_code"] == "job.pushed"
    assert (job["last_action"], job["last_code"], job["last_message"]) == (
        before["last_action"],
        before["last_code"],
        before["last_message"],
    )


async def test_own_metadata_writes_cause_no_work(stack: Stack) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)
    await stack.wait_quiet()

    # the write-back made Saleor send ORDER_METADATA_UPDATED with the app as principal...
    own = [
        d
        for d in stack.saleor.state.deliveries
        if d.event.upper() == "ORDER_METADATA_UPDATED" and b'"App"' in d.body
    ]
    assert own
    assert all(delivery.status == 200 for delivery in own)
    # ...which the app acknowledged and ignored: one attempt only, one PUT
    job = await stack.job_for(order)
    assert job["attempts"] == 1
    assert "ORDER_METADATA_UPDATED" not in job["events_seen"]
    assert stack.puts(order) == 1


async def test_staff_edit_of_delivery_date_pushes_again(stack: Stack) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)

    # when staff set another delivery date in the order's metadata
    new_date = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    metadata = [
        {"key": "gordon.delivery_date", "value": new_date},
        {"key": "gordon.time_window", "value": "17:00 - 21:00"},
        {"key": "gordon.tracking_id", "value": stack.metadata(order)["gordon.tracking_id"]},
    ]
    stack.saleor.state.update_order(order["id"], metadata=metadata)
    await stack.emit("ORDER_METADATA_UPDATED", order["id"])

    # then Gordon gets the new date
    await stack.wait_until(lambda: stack.puts(order) == 2)
    assert stack.gordon_requests("PUT", order)[1]["body"]["deliverydate"] == new_date


async def test_cancel_after_push_withdraws_from_gordon(stack: Stack) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)

    stack.saleor.state.update_order(order["id"], status="CANCELED")
    await stack.emit("ORDER_CANCELLED", order["id"])

    await stack.wait_until(lambda: len(stack.gordon_requests("DELETE", order)) == 1)
    await _settled_as(stack, order, "cancelled")
    assert order["number"] not in stack.gordon.state.orders
    assert (await stack.job_for(order))["status"] == "cancelled"


async def test_cancel_refused_by_gordon_asks_for_manual_cancellation(stack: Stack) -> None:
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)
    stack.gordon.state.mark_planned(order["number"])

    stack.saleor.state.update_order(order["id"], status="CANCELED")
    await stack.emit("ORDER_CANCELLED", order["id"])

    await _settled_as(stack, order, "needs_attention")
    error = stack.private_metadata(order)["gordon.error"]
    assert "in the Gordon platform by hand" in error
    assert order["number"] in stack.gordon.state.orders
    assert (await stack.job_for(order))["status"] == "needs_attention"


async def test_gordon_unavailable_twice_then_synced(stack: Stack) -> None:
    stack.gordon.state.script_faults([503, 503])
    order = stack.paid_order()

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    await _synced(stack, order)
    job = await stack.job_for(order)
    assert job["attempts"] == 3
    assert [h["outcome"] for h in job["history"] if h["action"] == "push"] == [
        "retryable",
        "retryable",
        "accepted",
    ]
    assert len(stack.gordon.state.orders) == 1


async def test_unknown_delivery_group_needs_attention_without_retries(stack: Stack) -> None:
    await stack.configure(delivery_groups=[{"deliverygroup": "Gordon Nowhere"}])
    order = stack.paid_order()

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    await _settled_as(stack, order, "needs_attention")
    assert "Unable to find deliverygroup" in stack.private_metadata(order)["gordon.error"]
    await stack.wait_quiet()
    assert stack.puts(order) == 1
    assert stack.gordon.state.requests(method="POST", path="/api/orders")[0]["status"] == 400
    job = await stack.job_for(order)
    assert job["attempts"] == 1
    assert job["next_attempt_at"] is None


async def test_fixing_the_configuration_retries_and_clears_the_error(stack: Stack) -> None:
    await stack.configure(delivery_groups=[{"deliverygroup": "Gordon Nowhere"}])
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _settled_as(stack, order, "needs_attention")

    # the shop owner fixes the delivery group, and gives the shop's orders a prefix meanwhile
    await stack.configure(external_ref_prefix="SHOP-")

    await _synced(stack, order)
    assert "gordon.error" not in stack.private_metadata(order)
    # the refused push did not pin the order to its old reference
    assert list(stack.gordon.state.orders) == [f"SHOP-{order['number']}"]


async def test_saleor_down_for_a_while_resumes_without_loss(stack: Stack) -> None:
    order = stack.paid_order()
    stack.saleor.state.down = True

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    async def retrying() -> bool:
        return (await stack.job_for(order))["status"] == "retrying"

    await stack.wait_until(retrying)
    assert stack.puts(order) == 0
    stack.saleor.state.down = False
    await _synced(stack, order)
    assert stack.puts(order) == 1


async def test_revoked_token_stops_the_installation(
    stack: Stack, saleor_fake_factory: Callable[[], RunningSaleorFake]
) -> None:
    order = stack.paid_order()
    stack.saleor.state.revoke_all_tokens()

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    async def revoked() -> bool:
        installation = await stack.installations.get_installation(stack.saleor.api_url)
        job = await stack.job_for(order)
        return (
            installation is not None
            and installation.revoked_at is not None
            and (not job["in_progress"])
        )

    await stack.wait_until(revoked)

    # witness: another shop's order whose push fails once. Claims prefer the shop claimed
    # longest ago, so its retry is claimed only when the revoked shop's due job is not claimable.
    other = await _second_shop(stack, saleor_fake_factory())
    stack.gordon.state.script_faults([503])
    other_order = other.state.add_order()
    [hook] = other.state.webhooks_for("ORDER_FULLY_PAID")
    payload = other.state.event_payload(
        "ORDER_FULLY_PAID", order_id=other_order["id"], query=hook.query
    )
    delivery = await other.state.deliver(stack.http, hook.target_url, "ORDER_FULLY_PAID", payload)
    assert delivery.status == 200

    async def witness_synced() -> bool:
        jobs = [job for job in await stack.jobs() if job["order_id"] == other_order["id"]]
        return bool(jobs) and jobs[0]["status"] == "synced" and not jobs[0]["in_progress"]

    await stack.wait_until(witness_synced)
    [witness] = [job for job in await stack.jobs() if job["order_id"] == other_order["id"]]
    assert witness["attempts"] == 2
    assert stack.puts(order) == 0
    assert (await stack.job_for(order))["attempts"] == 1  # not claimed again


async def _second_shop(stack: Stack, other: RunningSaleorFake) -> RunningSaleorFake:
    """Install the app in another Saleor too, configured like the first but for its prefix."""
    response = await other.state.install_app(stack.http, stack.app_url + "/api/manifest")
    assert response.status_code == 200, response.text
    installation = await stack.installations.get_installation(other.api_url)
    assert installation is not None
    # its order numbers are the first shop's too: a prefix keeps them apart in Gordon
    config = parse_shop_config(shop_config(stack.gordon.base_url, external_ref_prefix="B-"))
    await stack.installations.save_config(installation.id, config, now=datetime.now(UTC))
    return other


async def test_customer_data_is_not_kept_after_success(stack: Stack) -> None:
    # an invalid phone makes a warning: its text must not carry the number either
    address = {**stack.saleor.state.add_order()["shippingAddress"], "phone": "070-12"}
    order = stack.paid_order(shippingAddress=address, billingAddress=address)
    await stack.emit("ORDER_FULLY_PAID", order["id"])
    await _synced(stack, order)
    await stack.engine.dispose()  # let SQLite write everything to its files

    stored = b"".join(path.read_bytes() for path in stack.tmp_path.glob("app.db*"))

    assert stored  # the database is there...
    for customer_data in ("Viklund", "Segeltorps", "070-12", "andreas.viklund", "Knock please"):
        assert customer_data.encode() not in stored, customer_data


async def test_cancel_after_a_push_whose_answer_was_lost_withdraws_it(stack: Stack) -> None:
    # given a push that Gordon carried out while its answer never reached the app, and Gordon
    # unavailable since, so the app cannot learn that the push happened (a retry that got
    # through would make this an ordinary cancel after a push)
    unavailable = [503] * 200
    gordon = stack.gordon.state
    gordon.script_faults([404, "lost", *unavailable])  # the PUT says "not found"; the POST is lost
    order = stack.paid_order()
    await stack.emit("ORDER_FULLY_PAID", order["id"])

    async def lost() -> bool:
        job = await stack.job_for(order)
        return job["last_outcome"] == "retryable" and len(gordon.faults) < len(unavailable)

    await stack.wait_until(lost)
    assert order["number"] in gordon.orders
    assert "gordon.tracking_id" not in stack.metadata(order)

    # when the order is cancelled, and Gordon answers again
    stack.saleor.state.update_order(order["id"], status="CANCELED")
    await stack.emit("ORDER_CANCELLED", order["id"])
    gordon.script_faults([])

    # then the app withdraws it all the same
    await _settled_as(stack, order, "cancelled")
    assert stack.gordon_requests("DELETE", order)
    assert order["number"] not in stack.gordon.state.orders


async def test_an_order_saleor_refuses_to_read_needs_attention(stack: Stack) -> None:
    # given a webhook for an order id Saleor does not accept (e.g. an order of another type)
    state = stack.saleor.state
    [hook] = state.webhooks_for("ORDER_FULLY_PAID")
    payload = state.event_payload(
        "ORDER_FULLY_PAID", order_id=stack.paid_order()["id"], query=hook.query
    )
    payload["order"] = {**payload["order"], "id": "not-an-id", "number": "999"}

    delivery = await state.deliver(stack.http, hook.target_url, "ORDER_FULLY_PAID", payload)

    # then the job says what Saleor answered, and Gordon is not called
    assert delivery.status == 200
    missing = {"id": "not-an-id", "number": "999"}

    async def flagged() -> bool:
        jobs = [job for job in await stack.jobs() if job["order_id"] == "not-an-id"]
        return bool(jobs) and jobs[0]["status"] == "needs_attention"

    await stack.wait_until(flagged)
    job = await stack.job_for(missing)
    assert "Saleor refused to read the order" in job["last_message"]
    assert stack.gordon.state.requests(method="PUT") == []


async def test_gordon_retry_after_is_honoured(stack: Stack) -> None:
    # given Gordon answering 429 with Retry-After: 600 once (the backoff here is at most 1.25 s)
    stack.gordon.state.options = dataclasses.replace(stack.gordon.state.options, retry_after=600)
    stack.gordon.state.script_faults([429])
    order = stack.paid_order()

    await stack.emit("ORDER_FULLY_PAID", order["id"])

    async def throttled() -> bool:
        return (await stack.job_for(order))["last_outcome"] == "retryable"

    await stack.wait_until(throttled)

    # then the next attempt is 600 s after the attempt's start, which lies between the job's
    # creation and Gordon receiving the throttled PUT: bounds that need no timing assumption
    job = await stack.job_for(order)
    [throttled_put] = stack.gordon_requests("PUT", order)
    next_attempt = _utc(job["next_attempt_at"])
    wait = timedelta(seconds=600)
    assert _utc(job["created_at"]) + wait <= next_attempt
    assert next_attempt <= datetime.fromtimestamp(float(throttled_put["time"]), UTC) + wait

    # and an operator who does not want to wait can run it now
    result = stack.run_command("jobs", "retry", str(job["id"]))
    assert result.returncode == 0, result.stderr
    await _synced(stack, order)


def _utc(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
