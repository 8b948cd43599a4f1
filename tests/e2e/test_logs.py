"""What ``serve`` writes to its log while the Dashboard uses it: no token, none of the customer
data a staff user types into the Orders search, and no line or field of a forged token's
choosing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote, quote_plus

import jwt
import pytest

from saleor_gordon.saleor.manifest import APP_PAGE_PATH
from tests.e2e.conftest import Stack
from tests.support.saleor_fake import SigningKey

pytestmark = pytest.mark.slow

FORGED_KID = "k\n2026-01-01 00:00:00,000 ERROR webhook.accepted job_id=999 order_id=X"


async def test_the_dashboard_s_requests_leave_no_token_and_no_search_in_the_log(
    stack: Stack,
) -> None:
    # given a shop's order and a staff user in the Dashboard
    order = stack.paid_order()
    address = order["shippingAddress"]
    name = f"{address['firstName']} {address['lastName']}"
    state = stack.saleor.state
    token = state.dashboard_token(now=datetime.now(UTC))
    headers = {"authorization-bearer": token, "saleor-api-url": stack.saleor.api_url}
    forged = jwt.encode(
        {
            "iss": stack.saleor.api_url,
            "app": state.app_id,
            "exp": int(datetime.now(UTC).timestamp()) + 300,
        },
        SigningKey.generate().private_key,
        algorithm="RS256",
        headers={"kid": FORGED_KID},
    )

    # when the Dashboard opens the app's page, the staff user searches the orders for the
    # customer's e-mail address and name, and a forged token is sent
    page = await stack.http.get(
        stack.app_url + APP_PAGE_PATH,
        params={"saleorApiUrl": stack.saleor.api_url, "id": state.app_id, "theme": "dark"},
    )
    searches = [
        await stack.http.get(
            stack.app_url + "/api/dashboard/jobs",
            params={"search": term, "page": 1},
            headers=headers,
        )
        for term in (order["userEmail"], name)
    ]
    refused = await stack.http.get(
        stack.app_url + "/api/dashboard/session",
        headers={**headers, "authorization-bearer": forged},
    )
    stack.stop_all()

    # then
    assert page.status_code == 200
    assert [answer.status_code for answer in searches] == [200, 200]
    assert refused.status_code == 401
    log = stack.processes[0].log()
    for term in (order["userEmail"], name, address["lastName"], token, forged):
        for written in {term, quote(term), quote_plus(term)}:
            assert written not in log
    [line] = [json.loads(line) for line in log.splitlines() if "dashboard.token_refused" in line]
    reason = (
        "The signing key 'k\\n2026-01-01 00:00:00,000 ERROR webhook.accepted job_id=999 order_id=X' "
        "is not in the JWKS."
    )
    assert {key: line[key] for key in line if key not in ("time", "logger")} == {
        "level": "INFO",
        "event": "dashboard.token_refused",
        "message": f"dashboard.token_refused saleor_api_url={stack.saleor.api_url} reason={reason}",
        "saleor_api_url": stack.saleor.api_url,
        "reason": reason,
    }
