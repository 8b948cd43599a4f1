"""The Gordon sandbox in-process, through httpx's ASGITransport."""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from saleor_gordon.fakes.gordon_sandbox import (
    SandboxOptions,
    SandboxState,
    create_gordon_sandbox,
    sandbox_state,
    tracking_id_for,
    validate_order,
)
from tests.gordon.conftest import FakeClock, gordon_order

OpenSandbox = Callable[..., Any]


class Sandbox:
    """An in-process sandbox with a logged-in HTTP client."""

    def __init__(self, http: httpx.AsyncClient, state: SandboxState) -> None:
        self.http = http
        self.state = state
        self.headers: dict[str, str] = {}

    async def login(self) -> None:
        response = await self.http.post("/oauth/token", json=token_request())
        self.headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    async def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return await self.http.request(method, path, headers=self.headers, **kwargs)


def token_request(**changes: object) -> dict[str, object]:
    return {
        "audience": "https://gordonapi.herokuapp.com/",
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "grant_type": "client_credentials",
        **changes,
    }


@pytest.fixture
async def open_sandbox() -> AsyncIterator[Callable[..., Any]]:
    clients: list[httpx.AsyncClient] = []

    async def open_(login: bool = True, **options: Any) -> Sandbox:
        app = create_gordon_sandbox(SandboxOptions(**options))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")
        clients.append(http)
        sandbox = Sandbox(http, sandbox_state(app))
        if login:
            await sandbox.login()
        return sandbox

    yield open_
    for http in clients:
        await http.aclose()


async def test_token_endpoint_grants_a_bearer_token(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(login=False, token_expires_in=120)
    response = await sandbox.http.post("/oauth/token", json=token_request())
    assert response.status_code == 200
    assert response.json() | {"access_token": "x"} == {
        "access_token": "x",
        "scope": "general",
        "token_type": "Bearer",
        "expires_in": 120,
    }


@pytest.mark.parametrize(
    ("changes", "status", "error"),
    [
        ({"client_secret": "wrong"}, 401, "access_denied"),
        ({"client_id": "wrong"}, 401, "access_denied"),
        ({"client_secret": None}, 401, "access_denied"),
        ({"audience": "https://elsewhere/"}, 403, "access_denied"),
        ({"grant_type": "password"}, 400, "invalid_request"),
    ],
)
async def test_token_endpoint_refuses(
    open_sandbox: OpenSandbox, changes: dict[str, object], status: int, error: str
) -> None:
    sandbox = await open_sandbox(login=False)
    response = await sandbox.http.post("/oauth/token", json=token_request(**changes))
    assert response.status_code == status
    assert response.json()["error"] == error


async def test_wrong_credentials_get_gordons_recorded_answer(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(login=False)
    response = await sandbox.http.post("/oauth/token", json=token_request(client_secret="x"))
    assert response.json() == {"error": "access_denied", "error_description": "Unauthorized"}


async def test_missing_audience_is_accepted(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(login=False)
    request = token_request()
    del request["audience"]
    assert (await sandbox.http.post("/oauth/token", json=request)).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer "])
async def test_api_needs_a_valid_bearer_token(
    open_sandbox: OpenSandbox, authorization: str | None
) -> None:
    sandbox = await open_sandbox(login=False)
    headers = {"Authorization": authorization} if authorization else {}
    response = await sandbox.http.get("/api/orders/1", headers=headers)
    assert response.status_code == 401


async def test_expired_token_is_refused() -> None:
    clock = FakeClock()
    app = create_gordon_sandbox(SandboxOptions(token_expires_in=60, clock=clock))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s"
    ) as http:
        token = (await http.post("/oauth/token", json=token_request())).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        before = await http.get("/api/orders/1", headers=headers)
        clock.advance(60)
        after = await http.get("/api/orders/1", headers=headers)
    assert (before.status_code, after.status_code) == (404, 401)


async def test_post_creates_and_put_updates_answering_like_gordon(
    open_sandbox: OpenSandbox,
) -> None:
    sandbox = await open_sandbox()
    created = await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    updated = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    expected = {
        "external_ref": "A1",
        "tracking_id": tracking_id_for("A1"),
        "status": "OK",
        "deliverygroup": "gordon store",
    }
    assert (created.status_code, created.json()) == (200, expected)
    assert (updated.status_code, updated.json()) == (200, expected)


def test_tracking_ids_are_nine_alphanumerics_stable_per_ref() -> None:
    assert re.fullmatch(r"[0-9A-Za-z]{9}", tracking_id_for("1001"))
    assert tracking_id_for("1001") == tracking_id_for("1001")
    assert tracking_id_for("1001") != tracking_id_for("1002")


async def test_put_fills_external_ref_from_the_url_and_refuses_a_mismatch(
    open_sandbox: OpenSandbox,
) -> None:
    sandbox = await open_sandbox()
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    filled = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order(external_ref=None))
    mismatch = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("B2"))
    assert filled.status_code == 200
    assert mismatch.status_code == 400
    assert mismatch.json()["status"] == "error"


async def test_put_of_an_unknown_ref_is_not_found_by_default(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    response = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    assert response.status_code == 404
    assert response.json() == {"status": "error", "message": "Order not found"}
    assert sandbox.state.orders == {}


async def test_tolerant_update_creates_unknown_refs(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(tolerant_update=True)
    response = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    assert response.status_code == 200
    assert response.json()["tracking_id"] == tracking_id_for("A1")
    assert list(sandbox.state.orders) == ["A1"]


async def test_put_updates_an_order_created_with_post(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    response = await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1", city="Solna"))
    assert response.status_code == 200
    assert sandbox.state.orders["A1"].body["city"] == "Solna"
    assert sandbox.state.orders["A1"].writes == 2


async def test_post_creates_once_then_says_ref_in_use(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    first = await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    second = await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    assert first.status_code == 200
    assert first.json()["tracking_id"] == tracking_id_for("A1")
    assert second.status_code == 400
    assert second.json() == {"status": "error", "message": "External Ref in Use"}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"address": None, "zip": None, "city": None},
            "Missing required fields: address, zip, city",
        ),
        (
            {"external_ref": "", "customer-name": " "},
            "Missing required fields: external_ref, customer-name",
        ),
        ({"inventory": []}, "Missing required fields: inventory"),
        (
            {"deliverydate": None, "time-window": None, "deliverygroup": None},
            "Missing required fields: deliverydate, time-window, deliverygroup",
        ),
        (
            {"inventory": [{"quantity": 0, "name": "Box"}]},
            "Invalid inventory: item 1 needs a quantity of at least 1",
        ),
        (
            {"inventory": [{"quantity": 1}, {"name": "Box", "quantity": True}]},
            "Invalid inventory: item 1 needs a name; item 2 needs a quantity of at least 1",
        ),
        (
            {"inventory": ["Box"]},
            "Invalid inventory: item 1 needs a name; item 1 needs a quantity of at least 1",
        ),
        ({"deliverydate": "25/02/2030"}, "Invalid deliverydate, expected YYYY-MM-DD"),
        ({"time-window": "2pm-4pm"}, "Invalid time-window, expected HH:MM - HH:MM"),
        ({"deliverygroup": "Gordon Mars"}, "Unable to find deliverygroup"),
        ({"time-window": "11:00-15:00"}, None),
        ({"deliverygroup": "gordon STORE"}, None),
    ],
)
def test_validation_messages(changes: dict[str, object], message: str | None) -> None:
    order = gordon_order("A1") | changes
    assert validate_order(order, ["Gordon Store", "Gordon Oslo"]) == message


def test_any_group_is_accepted_without_a_list() -> None:
    assert validate_order(gordon_order("A1", deliverygroup="Anything"), []) is None


async def test_validation_errors_are_400_with_the_ref(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(delivery_groups=("Gordon Store",))
    response = await sandbox.api(
        "POST", "/api/orders", json=gordon_order("A1", deliverygroup="Nope")
    )
    assert response.status_code == 400
    assert response.json() == {
        "status": "error",
        "message": "Unable to find deliverygroup",
        "external_ref": "A1",
    }
    assert "A1" not in sandbox.state.orders


async def test_invalid_json_is_refused(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    response = await sandbox.api("PUT", "/api/orders/A1", content=b"{nope")
    assert response.status_code == 400
    assert response.json()["message"] == "Invalid JSON body"


async def test_get_returns_the_stored_order(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    found = await sandbox.api("GET", "/api/orders/A1")
    missing = await sandbox.api("GET", "/api/orders/B2")
    assert found.json() == gordon_order("A1") | {"tracking_id": tracking_id_for("A1")}
    assert missing.status_code == 404


async def test_delete_until_planned(open_sandbox: OpenSandbox) -> None:
    # given two orders, one planned through the control endpoint
    sandbox = await open_sandbox()
    for ref in ("A1", "A2"):
        await sandbox.api("POST", "/api/orders", json=gordon_order(ref))
    planned = await sandbox.http.post("/_sandbox/orders/A2/planned")
    # when
    deleted = await sandbox.api("DELETE", "/api/orders/A1")
    gone = await sandbox.api("DELETE", "/api/orders/A1")
    refused = await sandbox.api("DELETE", "/api/orders/A2")
    # then
    assert planned.json() == {"status": "OK", "external_ref": "A2", "planned": True}
    assert (deleted.status_code, deleted.json()) == (200, {"status": "OK", "external_ref": "A1"})
    assert gone.status_code == 404
    assert refused.status_code == 400
    assert refused.json() == {
        "status": "error",
        "message": "Order is planned and can no longer be deleted; cancel it in the Gordon platform",
    }


async def test_marking_an_unknown_order_planned_is_404(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    assert (await sandbox.http.post("/_sandbox/orders/nope/planned")).status_code == 404


async def test_scripted_faults_come_first_then_normal_answers(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(retry_after=3)
    scripted = await sandbox.http.post("/_sandbox/faults", json={"next": [503, 503, 429]})
    statuses = []
    for _ in range(4):
        statuses.append(await sandbox.api("POST", "/api/orders", json=gordon_order("A1")))
    assert scripted.json() == {"next": [503, 503, 429]}
    assert [response.status_code for response in statuses] == [503, 503, 429, 200]
    assert statuses[2].headers["Retry-After"] == "3"
    assert "status" not in statuses[0].json()  # an outage, not a refusal
    assert (await sandbox.http.get("/_sandbox/faults")).json() == {"next": []}
    assert [entry["fault"] for entry in sandbox.state.requests(path="/api/orders")] == [
        "503",
        "503",
        "429",
        None,
    ]


async def test_scripted_faults_do_not_touch_the_token_endpoint(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(login=False)
    await sandbox.http.post("/_sandbox/faults", json={"next": [503]})
    assert (await sandbox.http.post("/oauth/token", json=token_request())).status_code == 200
    assert (await sandbox.http.delete("/_sandbox/faults")).json() == {"next": []}


@pytest.mark.parametrize(
    "script", [{"next": [200]}, {"next": "503"}, {"later": [503]}, {"next": [True]}]
)
async def test_bad_fault_scripts_are_refused(
    open_sandbox: OpenSandbox, script: dict[str, object]
) -> None:
    sandbox = await open_sandbox()
    assert (await sandbox.http.post("/_sandbox/faults", json=script)).status_code == 400


async def test_scripted_timeout_hangs_then_answers_504(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(hang_seconds=0.1)
    sandbox.state.script_faults(["timeout"])
    response = await sandbox.api("GET", "/api/orders/A1")
    assert response.status_code == 504
    duration_ms = sandbox.state.requests()[-1]["duration_ms"]
    assert isinstance(duration_ms, float)
    assert duration_ms >= 100


async def test_scripted_lost_answer_stores_the_order_then_answers_504(
    open_sandbox: OpenSandbox,
) -> None:
    sandbox = await open_sandbox(hang_seconds=0.1)
    scripted = await sandbox.http.post("/_sandbox/faults", json={"next": ["lost"]})
    response = await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    assert scripted.json() == {"next": ["lost"]}
    assert response.status_code == 504
    assert response.headers["x-sandbox-fault"] == "lost"
    assert sandbox.state.orders["A1"].body == gordon_order("A1")
    assert sandbox.state.requests()[-1]["fault"] == "lost"


async def test_a_lost_answer_still_needs_a_valid_token(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox(login=False, hang_seconds=0.1)
    sandbox.state.script_faults(["lost"])
    response = await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    assert response.status_code == 401
    assert sandbox.state.orders == {}


async def test_held_requests_wait_until_released(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    sandbox.state.hold()
    request = asyncio.create_task(sandbox.api("POST", "/api/orders", json=gordon_order("A1")))
    for _ in range(500):  # at most 5 s for the request to arrive
        if sandbox.state.held:
            break
        await asyncio.sleep(0.01)

    assert sandbox.state.held == 1
    assert not request.done()
    assert sandbox.state.orders == {}
    sandbox.state.release()
    assert (await request).status_code == 200
    assert list(sandbox.state.orders) == ["A1"]


async def test_random_faults_follow_the_seed(open_sandbox: OpenSandbox) -> None:
    async def statuses(seed: int) -> list[int]:
        sandbox = await open_sandbox(
            seed=seed, error_rate=0.3, rate_limit_rate=0.3, timeout_rate=0.1, hang_seconds=0
        )
        return [(await sandbox.api("GET", "/api/orders/A1")).status_code for _ in range(30)]

    first, again = await statuses(7), await statuses(7)
    assert first == again
    assert {503, 429, 504, 404} <= set(first)


async def test_fault_injection_is_off_by_default(open_sandbox: OpenSandbox) -> None:
    sandbox = await open_sandbox()
    answers = [(await sandbox.api("GET", "/api/orders/A1")).status_code for _ in range(50)]
    assert answers == [404] * 50
    assert sandbox.state.faults_injected == {}


async def test_injected_faults_are_counted_by_kind_and_lost_ones_act(
    open_sandbox: OpenSandbox,
) -> None:
    # given a seeded sandbox that injects every kind of fault, and one scripted fault
    sandbox = await open_sandbox(
        seed=11,
        error_rate=0.2,
        rate_limit_rate=0.1,
        timeout_rate=0.1,
        lost_rate=0.1,
        hang_seconds=0,
        retry_after=1.5,
        tolerant_update=True,
    )
    sandbox.state.script_faults([502])
    # when orders are written, each under its own ref
    answers = [
        await sandbox.api("PUT", f"/api/orders/R{n}", json=gordon_order(f"R{n}")) for n in range(80)
    ]
    # then every injected fault is counted by its kind, matching the answers' labels
    labels = Counter(answer.headers.get("x-sandbox-fault") for answer in answers)
    injected = sandbox.state.faults_injected
    assert injected == {label: n for label, n in labels.items() if label is not None}
    assert set(injected) == {"502", "503", "429", "timeout", "lost"}
    assert injected["502"] == 1
    assert all(a.headers["Retry-After"] == "1.5" for a in answers if a.status_code == 429)
    # a lost answer stored the order, a timeout did not
    stored = {
        answer.request.url.path.rsplit("/", 1)[1]: answer.headers.get("x-sandbox-fault")
        for answer in answers
    }
    assert {ref for ref, label in stored.items() if label in (None, "lost")} == set(
        sandbox.state.orders
    )
    # and the same seed injects the same faults
    again = await open_sandbox(
        seed=11,
        error_rate=0.2,
        rate_limit_rate=0.1,
        timeout_rate=0.1,
        lost_rate=0.1,
        hang_seconds=0,
        tolerant_update=True,
    )
    again.state.script_faults([502])
    for n in range(80):
        await again.api("PUT", f"/api/orders/R{n}", json=gordon_order(f"R{n}"))
    assert again.state.faults_injected == injected
    sandbox.state.reset()
    assert sandbox.state.faults_injected == {}


async def test_recording_filters_redacts_and_resets(open_sandbox: OpenSandbox) -> None:
    # given
    sandbox = await open_sandbox()
    await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    await sandbox.api("PUT", "/api/orders/B2", json=gordon_order("B2"))
    # when
    puts = (
        await sandbox.http.get(
            "/_sandbox/requests", params={"method": "put", "path": "/api/orders/A1"}
        )
    ).json()
    everything = (await sandbox.http.get("/_sandbox/requests")).json()
    cleared = await sandbox.http.delete("/_sandbox/requests")
    # then
    assert puts["count"] == 2
    assert puts["requests"][0]["ref"] == "A1"
    assert puts["requests"][0]["body"] == gordon_order("A1")
    assert everything["requests"][0]["path"] == "/oauth/token"
    assert everything["requests"][0]["body"]["client_secret"] == "***"
    assert [entry["seq"] for entry in everything["requests"]] == [1, 2, 3, 4]
    assert cleared.status_code == 200
    assert sandbox.state.requests() == []


async def test_record_file_gets_json_lines(open_sandbox: OpenSandbox, tmp_path: Path) -> None:
    record = tmp_path / "gordon.jsonl"
    sandbox = await open_sandbox(record_file=record)
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    lines = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert [(line["method"], line["path"], line["status"]) for line in lines] == [
        ("POST", "/oauth/token", 200),
        ("POST", "/api/orders", 200),
    ]
    assert "sandbox-secret" not in record.read_text(encoding="utf-8")


async def test_control_endpoints_list_orders_revoke_tokens_and_reset(
    open_sandbox: OpenSandbox,
) -> None:
    sandbox = await open_sandbox()
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))
    await sandbox.api("PUT", "/api/orders/A1", json=gordon_order("A1"))
    orders = (await sandbox.http.get("/_sandbox/orders")).json()["orders"]
    await sandbox.http.post("/_sandbox/tokens/revoke")
    revoked = await sandbox.api("GET", "/api/orders/A1")
    await sandbox.http.post("/_sandbox/reset")
    assert orders["A1"]["writes"] == 2
    assert orders["A1"]["planned"] is False
    assert revoked.status_code == 401
    assert sandbox.state.orders == {}
    assert sandbox.state.requests() == []


@pytest.mark.parametrize(
    "ref", [["A1"], {"ref": "A1"}, 42, True], ids=["list", "object", "int", "bool"]
)
async def test_post_with_a_non_string_external_ref_is_refused(
    open_sandbox: OpenSandbox, ref: object
) -> None:
    """Checked before "External Ref in Use" (a list is not even hashable): 400 with a message."""
    sandbox = await open_sandbox()
    await sandbox.api("POST", "/api/orders", json=gordon_order("A1"))

    response = await sandbox.api(
        "POST", "/api/orders", json=gordon_order("A1") | {"external_ref": ref}
    )

    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "external_ref must be a string"}
    assert list(sandbox.state.orders) == ["A1"]


@pytest.mark.parametrize("method", ["PUT", "POST"])
async def test_deeply_nested_json_is_an_invalid_body(
    open_sandbox: OpenSandbox, method: str
) -> None:
    """json.loads raises RecursionError on absurd nesting: a Gordon-style 400, recorded as text."""
    sandbox = await open_sandbox()
    deep = b"[" * 100_000 + b"]" * 100_000
    path = "/api/orders/A1" if method == "PUT" else "/api/orders"

    response = await sandbox.api(method, path, content=deep)

    assert response.status_code == 400
    assert response.json() == {"status": "error", "message": "Invalid JSON body"}
    [entry] = sandbox.state.requests(method=method, path=path)
    assert entry["status"] == 400
    assert isinstance(entry["body"], str)


async def test_the_recording_keeps_the_newest_requests(open_sandbox: OpenSandbox) -> None:
    """Bounded in memory: the oldest go first, ``seq`` keeps counting; clearing starts it again."""
    sandbox = await open_sandbox(max_recorded_requests=3)  # the token request is seq 1
    for ref in ("A1", "A2", "A3", "A4"):
        await sandbox.api("PUT", f"/api/orders/{ref}", json=gordon_order(ref))

    kept = sandbox.state.requests()
    sandbox.state.clear_requests()
    await sandbox.api("GET", "/api/orders/A1")

    assert [(entry["seq"], entry["ref"]) for entry in kept] == [(3, "A2"), (4, "A3"), (5, "A4")]
    assert sandbox.state.count("PUT", "/api/orders/A1") == 0
    assert [entry["seq"] for entry in sandbox.state.requests()] == [1]


def test_the_default_recording_bound_is_documented() -> None:
    """Ten thousand requests by default (module docstring)."""
    assert SandboxOptions().max_recorded_requests == 10_000


async def test_expired_tokens_are_forgotten_when_a_new_one_is_issued() -> None:
    """A long benchmark that logs in again and again does not keep every token it ever got."""
    clock = FakeClock()
    app = create_gordon_sandbox(SandboxOptions(token_expires_in=60, clock=clock))
    state = sandbox_state(app)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://s"
    ) as http:
        for _ in range(5):
            await http.post("/oauth/token", json=token_request())
            clock.advance(30)
        latest = (await http.post("/oauth/token", json=token_request())).json()["access_token"]
        answer = await http.get("/api/orders/1", headers={"Authorization": f"Bearer {latest}"})

    assert answer.status_code == 404  # the new token works
    assert len(state.tokens) == 2  # the one issued 30 s ago (still valid) and the new one
    assert latest in state.tokens
