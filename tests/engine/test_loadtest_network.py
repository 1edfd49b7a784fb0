"""`dialer loadtest` applies the profile's `[network]` (loss, latency): in virtual time every
datagram crosses the impaired in-memory network; over real UDP the carrier's sockets drop."""

from pathlib import Path

import pytest

from dialer.engine.loadtest import DayOptions, run_day
from dialer.net import UdpNetwork
from sim.network import LossyNetwork, MemoryNetwork, profile_networks
from sim.profile import NetworkConfig, load_profile

ROOT = Path(__file__).resolve().parents[2]


async def test_virtual_day_runs_on_the_profiles_impaired_network(store, autojump_clock):
    profile = load_profile(ROOT / "config" / "sim" / "default.toml")
    profile.network = NetworkConfig(loss=0.05, latency=0.2)
    result = await run_day(store, profile, DayOptions(operators=3, duration=900, leads=400, seed=4))
    net = result["network"]
    assert (net["loss"], net["latency"]) == (0.05, 0.2)
    assert net["lost"] / net["sent"] == pytest.approx(0.05, abs=0.02), net
    # Latency: a 404 comes 0.3 s after the carrier receives the INVITE (default.toml's ring for
    # `invalid`), so from our attempt row to its end is at least 0.3 s + the INVITE's and the
    # 404's one-way latency (on an unimpaired network it is 0.3 s).
    rows = await store.fetch("SELECT started_at, ended_at FROM attempt WHERE outcome = 'invalid'")
    assert rows
    shortest = min((r["ended_at"] - r["started_at"]).total_seconds() for r in rows)
    assert shortest >= 0.3 + 2 * 0.2 - 1e-6, shortest
    # SIP's retransmissions carry the calls through the loss: the audit is clean.
    assert result["calls"] > 50 and result["audit_violations"] == 0, result["audit_by_rule"]
    assert result["carrier"]["calls"] <= result["calls"]


def test_profile_networks_real_udp_drops_at_the_carrier_only():
    dialer_net, carrier_net = profile_networks(NetworkConfig(loss=0.1, latency=0.3), virtual=False, seed=1)
    assert isinstance(dialer_net, UdpNetwork)
    assert isinstance(carrier_net, LossyNetwork) and carrier_net.loss == 0.1
    assert isinstance(carrier_net.inner, UdpNetwork)
    dialer_net, carrier_net = profile_networks(NetworkConfig(), virtual=False)
    assert isinstance(carrier_net, UdpNetwork)
    net, same = profile_networks(NetworkConfig(loss=0.1, latency=0.3, jitter=0.1), virtual=True)
    assert net is same and isinstance(net, MemoryNetwork)
    assert (net.default_link.loss, net.default_link.latency, net.default_link.jitter) == (0.1, 0.3, 0.1)
