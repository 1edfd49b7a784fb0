"""What the loadtest's simulated operators put in a wrap (dialer/engine/sim_wraps.py)."""

import datetime as dt

import pytest

from dialer.engine.operators import CallInfo, Operator
from dialer.engine.sim_wraps import CallbackPlan, SimWraps
from dialer.lifecycle.rules import CampaignRules, WrapCode

NOW = dt.datetime(2026, 3, 3, 17, 0, tzinfo=dt.timezone.utc)


class FixedClock:
    def now(self):
        return NOW


RULES = CampaignRules(1, "c", {}, {}, {"NI": WrapCode("NI", "Not interested", completes=True),
                                      "CALLBK": WrapCode("CALLBK", "Call back", is_callback=True)}, {})


def test_callback_codes_get_a_time_in_the_planned_range_and_an_owner_by_share():
    wraps = SimWraps(FixedClock(), RULES, CallbackPlan(delay=(600, 1200), owned=0.25), seed=3)
    owners = []
    for i in range(400):
        op = Operator(i + 1, f"op{i}")
        op.call = CallInfo(lead_id=i)
        code, at = wraps.choose(op, "CALLBK")
        assert code == "CALLBK" and NOW + dt.timedelta(seconds=600) <= at <= NOW + dt.timedelta(seconds=1200)
        owners.append(op.call.extra["callback_owner"])
        assert owners[-1] in (None, op.id)
    owned = sum(o is not None for o in owners)
    assert owned / 400 == pytest.approx(0.25, abs=0.07)
    assert wraps.scheduled == {"owned": owned, "campaign": 400 - owned}


def test_other_codes_get_no_callback_and_unknown_codes_become_the_plain_one():
    wraps = SimWraps(FixedClock(), RULES)
    op = Operator(1, "op1")
    op.call = CallInfo()
    assert wraps.choose(op, "NI") == ("NI", None)
    assert wraps.choose(op, "NOPE") == ("NI", None)
    assert "callback_owner" not in op.call.extra


@pytest.mark.parametrize("plan", [dict(delay=(0, 10)), dict(delay=(20, 10)), dict(owned=1.5)])
def test_bad_callback_plans_are_refused(plan):
    with pytest.raises(ValueError):
        CallbackPlan(**plan)
