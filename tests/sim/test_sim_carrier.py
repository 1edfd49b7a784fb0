"""The simulated carrier over the in-memory network, dialled by the dialer's own SIP endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import trio
import trio.testing

pytest.importorskip("dialer.sip.endpoint", reason="the SIP endpoint (branch sip) is not merged yet")

from dialer.sip.endpoint import open_endpoint  # noqa: E402
from dialer.sip.trunk import Trunk  # noqa: E402
from sim.carrier import Carrier, serve_carrier  # noqa: E402
from sim.network import MemoryNetwork
from sim.virtual import run_virtual
from sim.profile import AuthConfig, load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]

MIXED = """
seed = 3
[outcomes]
answered = 0.3
machine = 0.1
busy = 0.15
invalid = 0.1
rejected = 0.05
failed = 0.05
rest = "no_answer"
[ring]
default = { kind = "uniform", low = 1, high = 6 }
invalid = { kind = "fixed", value = 0.2 }
[talk]
kind = "lognormal"
mean = 20
sd = 10
[machine]
greeting = { kind = "fixed", value = 4 }
recording = { kind = "fixed", value = 3 }
"""

# What the dialer should conclude for each outcome the population drew.
DIALER_OUTCOME = {"answered": "answered", "machine": "answered", "busy": "busy",
                  "invalid": "invalid", "rejected": "rejected", "failed": "failed",
                  "no_answer": "no_answer"}


async def _campaign(profile, *, calls, seed=None, loss=0.0, latency=0.0, jitter=0.0, net_seed=0,
                    interval=0.1, ring_timeout=25.0, credentials=None, numbers=None, carry=True):
    """Dial `calls` numbers through the carrier; return (carrier, [(number, call), ...], net)."""
    net = MemoryNetwork(loss=loss, latency=latency, jitter=jitter, seed=net_seed,
                        carry_messages=carry)
    carrier = Carrier(profile, seed=seed)
    results = []
    async with trio.open_nursery() as nursery:
        carrier_endpoint = await nursery.start(serve_carrier, net, "127.0.0.1", 5070, carrier)
        async with open_endpoint(net, "127.0.0.1", 0) as dialer:
            trunk = Trunk("sim", *carrier_endpoint.local_address,
                          username=credentials[0] if credentials else None,
                          password=credentials[1] if credentials else None)

            async def one(number):
                call = await dialer.dial(trunk, number, ring_timeout=ring_timeout)
                results.append((number, call))
                await call.wait_ended()

            async with trio.open_nursery() as calls_nursery:
                for i in range(calls):
                    number = numbers[i] if numbers else f"+1555{i:07d}"
                    calls_nursery.start_soon(one, number)
                    await trio.sleep(interval)
            await trio.sleep(40)  # let the last BYEs and transaction timers settle
        nursery.cancel_scope.cancel()
    return carrier, results, net


async def test_each_fate_reaches_the_dialer_as_its_outcome(autojump_clock):
    profile = parse_profile(MIXED)
    carrier, results, _ = await _campaign(profile, calls=400)
    assert len(results) == 400
    seen = set()
    for number, call in results:
        truth = carrier.truth(call.call_id)
        seen.add(truth)
        assert call.outcome == DIALER_OUTCOME[truth], (number, truth, call.outcome, call.sip_status)
        if truth in ("answered", "machine"):
            assert call.ended_by == "remote"  # the called party hung up with BYE
    assert seen == set(DIALER_OUTCOME)
    s = carrier.summary()
    assert s["calls"] == 400
    assert s["results"]["in_progress"] == 0
    assert sum(s["planned"].values()) == 400
    assert s["hangups"]["callee"] == s["results"]["answered"] + s["results"]["machine"]
    assert s["machine"]["min"] == pytest.approx(7.0) and s["machine"]["max"] == pytest.approx(7.0)
    # no-answer calls ring until the dialer's 25 s timeout, then CANCEL
    no_answer = [c for _, c in results if carrier.truth(c.call_id) == "no_answer"]
    assert all(c.ring_seconds == pytest.approx(25, abs=0.01) for c in no_answer)
    json.dumps(s)


async def test_talk_time_seen_by_dialer_matches_the_drawn_talk_time(autojump_clock):
    profile = parse_profile(MIXED)
    carrier, results, _ = await _campaign(profile, calls=100)
    answered = [c for _, c in results if carrier.truth(c.call_id) == "answered"]
    assert answered
    talk = sorted(round(c.talk_seconds, 3) for c in answered)
    carrier_talk = carrier.summary()["talk"]
    assert talk[0] == pytest.approx(carrier_talk["min"], abs=0.01)
    assert talk[-1] == pytest.approx(carrier_talk["max"], abs=0.01)


async def test_calls_complete_over_a_network_losing_20_percent(autojump_clock):
    profile = parse_profile(MIXED)
    # A 60 s ring timeout: the test is about loss, not about the dialer giving up on a
    # call whose INVITE was lost six times in a row (31.5 s).
    carrier, results, net = await _campaign(profile, calls=200, loss=0.2, latency=0.02, net_seed=5,
                                            ring_timeout=60)
    assert net.stats.lost > 100  # the loss really happened
    mismatched = [(carrier.truth(c.call_id), c.outcome, c.reason, c.sip_status) for _, c in results
                  if carrier.truth(c.call_id) is None or c.outcome != DIALER_OUTCOME[carrier.truth(c.call_id)]]
    # Retransmissions recover every loss except an INVITE lost all 7 times
    # (0.2**7 per call): then Timer B ends the call as a transport timeout.
    assert len(mismatched) <= 2, mismatched
    assert all(m[3] == 408 for m in mismatched), mismatched
    s = carrier.summary()
    reached = sum(carrier.truth(c.call_id) is not None for _, c in results)
    assert reached >= 198
    assert s["calls"] == reached and s["results"]["in_progress"] == 0


def _report_for(seed: int, net_seed: int) -> str:
    async def main():
        profile = parse_profile(MIXED)
        carrier, results, net = await _campaign(profile, calls=150, seed=seed, loss=0.1, latency=0.03,
                                                jitter=0.02, net_seed=net_seed)
        return json.dumps(carrier.summary(), sort_keys=True)

    return run_virtual(main, seed=seed)


def test_same_seed_gives_an_identical_report():
    first = _report_for(1, 1)
    assert first == _report_for(1, 1)
    assert first != _report_for(2, 1)


async def test_channel_and_cps_limits_answer_503(autojump_clock):
    profile = parse_profile(MIXED + "[carrier]\nchannels = 5\ncps = 2\n")
    carrier, results, _ = await _campaign(profile, calls=60, interval=0.1)
    s = carrier.summary()
    assert s["limited"]["cps"] > 0 and s["limited"]["channels"] > 0
    limited = [c for _, c in results if carrier.truth(c.call_id) is None]
    assert len(limited) == s["limited"]["cps"] + s["limited"]["channels"]
    assert all(c.sip_status == 503 and c.outcome == "failed" for c in limited)
    assert s["concurrent"]["peak"] <= 5
    assert s["calls"] + len(limited) == 60


async def test_digest_challenge_is_answered_by_the_dialer(autojump_clock):
    profile = parse_profile(MIXED)
    profile.carrier.auth = AuthConfig(username="trunkuser", password="trunkpass")
    carrier, results, _ = await _campaign(profile, calls=20, credentials=("trunkuser", "trunkpass"))
    assert carrier.report.challenged == 20
    assert all(c.outcome == DIALER_OUTCOME[carrier.truth(c.call_id)] for _, c in results)
    assert carrier.summary()["calls"] == 20


async def test_wrong_password_is_refused(autojump_clock):
    profile = parse_profile(MIXED)
    profile.carrier.auth = AuthConfig(username="trunkuser", password="trunkpass", status=401)
    carrier, results, _ = await _campaign(profile, calls=3, credentials=("trunkuser", "wrong"))
    assert all(c.sip_status == 403 and c.outcome == "rejected" for _, c in results)
    s = carrier.summary()
    assert s["calls"] == 0
    assert s["challenged"] == 3 and s["auth_failures"] == 3  # each INVITE, then its retry


async def test_early_media_and_no_answer_limit(autojump_clock):
    profile = parse_profile(MIXED + "[carrier]\nearly_media = true\nno_answer_limit = 10\n")
    carrier, results, _ = await _campaign(profile, calls=60, ring_timeout=30)
    no_answer = [c for _, c in results if carrier.truth(c.call_id) == "no_answer"]
    assert no_answer and all(c.sip_status == 480 and c.ring_seconds == pytest.approx(10, abs=0.01)
                             for c in no_answer)
    answered = [c for _, c in results if carrier.truth(c.call_id) == "answered"]
    assert answered and all(("early_media", ) == tuple(s for _, s in c.progress if s == "early_media")
                            for c in answered)


async def test_example_answer_all_profile(autojump_clock):
    profile = load_profile(ROOT / "config" / "sim" / "answer-all.toml")
    carrier, results, _ = await _campaign(profile, calls=30)
    assert all(c.outcome == "answered" for _, c in results)
    assert carrier.summary()["results"]["answered"] == 30


async def test_talk_times_seen_by_the_dialer_pass_a_ks_test(autojump_clock):
    from sim.distributions import ks_critical, ks_statistic

    profile = parse_profile("""
[outcomes]
answered = 1.0
rest = "answered"
[ring]
default = { kind = "fixed", value = 1 }
[talk]
kind = "lognormal"
mean = 120
sd = 90
""")
    carrier, results, _ = await _campaign(profile, calls=500, interval=0.5)
    talk = [c.talk_seconds for _, c in results]
    assert all(c.ended_by == "remote" for _, c in results)
    assert ks_statistic(talk, profile.talk.dist) < ks_critical(len(talk))
    # and a wrong hypothesis is rejected by the same test
    from sim.distributions import Exponential
    assert ks_statistic(talk, Exponential(120)) > ks_critical(len(talk))


async def test_offer_without_a_common_codec_gets_488_and_late_offer_is_answered(autojump_clock):
    from dialer.sip.sdp import make_offer

    profile = load_profile(ROOT / "config" / "sim" / "answer-all.toml")
    net = MemoryNetwork()
    carrier = Carrier(profile)
    async with trio.open_nursery() as nursery:
        carrier_endpoint = await nursery.start(serve_carrier, net, "127.0.0.1", 5070, carrier)
        async with open_endpoint(net, "127.0.0.1", 0) as dialer:
            g729_only = make_offer("127.0.0.1", 4000).to_bytes().replace(
                b"RTP/AVP 0 8 101", b"RTP/AVP 18").replace(b"a=rtpmap:0 PCMU/8000", b"a=rtpmap:18 G729/8000")
            assert b"G729" in g729_only
            call = await dialer.dial(carrier_endpoint.local_address, "+15550001", sdp=g729_only)
            assert await call.wait_ended() == "codec_mismatch" and call.sip_status == 488
            late = await dialer.dial(carrier_endpoint.local_address, "+15550002", sdp=b"")
            assert await late.wait_answered()
            assert b"m=audio" in late.remote_sdp  # the carrier made the offer in its 200
            await late.wait_ended()
        nursery.cancel_scope.cancel()
    s = carrier.summary()
    assert s["results"]["failed"] == 1 and s["results"]["answered"] == 1


async def test_every_script_ends_and_frees_its_channel(autojump_clock):
    # Called parties are scripted on the carrier endpoint's timers (no task per call): each
    # script must end once, whoever ends the call (ring timeout CANCEL, caller or callee BYE),
    # and give its channel back; calls still ringing when the carrier stops end then.
    profile = parse_profile(MIXED)
    carrier, results, _ = await _campaign(profile, calls=80, ring_timeout=4)
    assert carrier.active == 0 and not carrier._playing
    records = carrier.report.records
    assert len(records) == 80 and all(r.ended is not None and r.result is not None for r in records)
    assert {r.result for r in records} >= {"cancelled", "no_answer", "answered", "busy"}
    hangups = {r.hangup for r in records if r.result == "answered"}
    assert hangups == {"callee", "caller"} or hangups == {"callee"}

    net = MemoryNetwork()
    carrier = Carrier(profile, seed=1)
    async with trio.open_nursery() as nursery:
        carrier_endpoint = await nursery.start(serve_carrier, net, "127.0.0.1", 5070, carrier)
        async with open_endpoint(net, "127.0.0.1", 0) as dialer:
            trunk = Trunk("sim", *carrier_endpoint.local_address)
            for i in range(5):
                await dialer.dial(trunk, f"+1666{i:07d}", ring_timeout=600)
            await trio.sleep(0.1)         # all still ringing (ring times are 0.2 s or 1-6 s)
            assert carrier.active == 5
            nursery.cancel_scope.cancel()
    assert carrier.active == 0 and all(r.ended is not None and r.result is not None
                                       for r in carrier.report.records)
