"""A Gordon call that got no answer is recorded as such in the job's history (``no_answer``).

Gordon may have done what was asked (the sandbox's ``"lost"`` fault does it), so the next attempt
sends the same content again: the chaos suite allows one such extra Gordon write per entry. An
answer Gordon gave, even a 503, is no such entry.
"""

from __future__ import annotations

from saleor_gordon.core.job_status import JobStatus
from saleor_gordon.jobs.lifecycle import NO_ANSWER, NO_ANSWER_MESSAGE
from tests.jobs.conftest import Bench, history


async def test_a_push_whose_answer_is_lost_is_recorded_and_sent_again(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.gordon.state.script_faults([404, "lost"])  # the PUT: "not found"; the POST: lost

    lost = await bench.attempt()

    assert lost.status is JobStatus.RETRYING
    assert history(lost) == [("push", NO_ANSWER), ("push", "retryable"), ("write_back", "written")]
    assert (
        lost.history[0].message
        == NO_ANSWER_MESSAGE
        == (
            "Gordon did not answer: it may have done what was asked, so the next attempt asks again."
        )
    )
    # the next attempt sends the same content again: one more write, the content unchanged
    bench.clock.advance(60)
    again = await bench.attempt()
    assert again.status is JobStatus.SYNCED
    writes = bench.gordon.state.writes[order["number"]]
    assert (writes.contents_sent, writes.applied, writes.answers_lost) == (1, 2, 1)


async def test_a_timed_out_push_is_recorded_as_no_answer(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.gordon.state.script_faults(["timeout"])  # hangs without doing anything

    result = await bench.attempt()

    assert history(result) == [
        ("push", NO_ANSWER),
        ("push", "retryable"),
        ("write_back", "written"),
    ]
    writes = bench.gordon.state.writes[order["number"]]
    assert (writes.contents_sent, writes.applied, writes.answers_lost) == (1, 0, 0)


async def test_a_withdrawal_whose_answer_is_lost_is_recorded(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    assert (await bench.attempt()).status is JobStatus.SYNCED
    bench.saleor.state.update_order(order["id"], status="CANCELED")
    await bench.event(order, "ORDER_CANCELLED")
    bench.gordon.state.script_faults(["lost"])

    lost = await bench.attempt()

    assert history(lost)[:2] == [("withdraw", NO_ANSWER), ("withdraw", "retryable")]
    assert order["number"] not in bench.gordon.state.orders  # Gordon did delete it


async def test_an_answered_failure_is_no_lost_answer(bench: Bench) -> None:
    order = bench.paid_order()
    await bench.event(order)
    bench.gordon.state.script_faults([503])

    result = await bench.attempt()

    assert history(result) == [("push", "retryable"), ("write_back", "written")]
