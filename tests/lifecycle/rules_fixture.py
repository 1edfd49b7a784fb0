"""Campaign rules built from the shipped defaults, without a database."""

import datetime as dt

from dialer.lifecycle.rules import CallMode, CampaignRules, Hours, Status, WrapCode
from dialer.store import defaults


def default_rules(**overrides) -> CampaignRules:
    statuses = {s[0]: Status(*s) for s in defaults.STATUSES}
    modes = {m[0]: CallMode(m[0], m[1], dt.timedelta(minutes=m[2]) if m[2] else None, m[3], m[4], m[5], i)
             for i, m in enumerate(defaults.CALL_MODES)}
    codes = {w[0]: WrapCode(w[0], w[1], w[2], dt.timedelta(minutes=w[3]) if w[3] is not None else None,
                            *w[4:]) for w in defaults.WRAP_CODES}
    base = dict(campaign_id=1, name="c", statuses=statuses, modes=modes, wrap_codes=codes,
                outcome_status=dict(defaults.OUTCOME_STATUS))
    base.update(overrides)
    return CampaignRules(**base)
