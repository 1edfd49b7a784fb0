"""Whatever bytes a peer sends, the parser returns a message or raises SipParseError."""

import random

from hypothesis import given, settings, strategies as st

from dialer.sip.message import SipParseError, parse_message
from sip_fuzzing import mutate
from sip_samples import COMPACT_FOLDED, INVITE, RESPONSE_200

SEEDS = [INVITE, RESPONSE_200, COMPACT_FOLDED]


def _parse_or_reject(data: bytes) -> None:
    try:
        msg = parse_message(data)
    except SipParseError as exc:
        assert exc.reason
        return
    # Lazily parsed parts (response From/To) may only fail with SipParseError too.
    for part in ("from_addr", "to_addr", "top_via"):
        try:
            getattr(msg, part)
        except SipParseError:
            pass
    # A message that parses serialises and parses again to the same key fields.
    again = parse_message(msg.to_bytes())
    assert (again.call_id, again.cseq, again.branch) == (msg.call_id, msg.cseq, msg.branch)


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data):
    _parse_or_reject(data)


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(SEEDS), st.integers(min_value=0, max_value=2**32))
def test_mutated_messages(seed, rng_seed):
    _parse_or_reject(mutate(seed, random.Random(rng_seed)))


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SEEDS), st.text(max_size=40), st.integers(min_value=0, max_value=2000))
def test_text_inserted_anywhere(seed, text, where):
    where = where % (len(seed) + 1)
    _parse_or_reject(seed[:where] + text.encode("utf-8", "surrogatepass") + seed[where:])
