"""The simulator's HttpDesk drives the operator API like the operators' web page does."""

import pytest

from api_helpers import PASSWORD, add_attempt, add_lead
from sim.http_desk import DeskRefused, HttpDesk


async def test_http_desk_login_ready_wrap_pause_logout(web, campaign):
    user = await web.add_user("op1", "operator")
    desk = HttpDesk(web.url, "spring", PASSWORD)
    try:
        assert (await desk.login("op1"))["state"] == "paused"
        assert (await desk.ready("op1"))["state"] == "ready"
        lead = await add_lead(web.store, campaign)
        attempt = await add_attempt(web.store, campaign, lead, user["operator_id"])
        web.desk.offer_call(user["operator_id"], lead, attempt)
        with pytest.raises(DeskRefused, match="BOGUS"):
            await desk.wrap("op1", "BOGUS")
        await desk.wrap("op1", "SALE", "sim call 1")
        row = await web.store.fetchrow("SELECT wrap_code FROM attempt WHERE id = $1", attempt)
        assert row["wrap_code"] == "SALE"
        assert (await desk.pause("op1", "break"))["state"] == "paused"
        assert (await desk.logout("op1"))["state"] == "logged_out"
    finally:
        await desk.aclose()


async def test_http_desk_wrong_password_is_refused(web, campaign):
    await web.add_user("op2", "operator")
    desk = HttpDesk(web.url, "spring", "not the password")
    try:
        with pytest.raises(DeskRefused, match="op2: POST /api/login: 401"):
            await desk.login("op2")
    finally:
        await desk.aclose()
