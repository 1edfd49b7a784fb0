"""Distributions, profiles and the population: statistics over many draws."""

from __future__ import annotations

import math
import random
from pathlib import Path

import pytest

from dialer.config import ConfigError
from sim.distributions import (Empirical, Exponential, Fixed, LogNormal, Uniform, ks_critical, ks_statistic,
                               read_empirical)
from sim.population import Population
from sim.profile import OUTCOMES, load_profile, parse_profile

ROOT = Path(__file__).resolve().parents[2]
PROFILES = sorted((ROOT / "config" / "sim").glob("*.toml"))
N = 20_000


def _within(count: int, n: int, p: float, sigmas: float = 5.0) -> bool:
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p)) + 1


@pytest.mark.parametrize("dist", [
    Fixed(3.0), Uniform(1, 5), Exponential(10), LogNormal(120, 90), LogNormal(8, 4),
    Empirical(tuple(sorted([1.0, 2.0, 2.0, 7.5, 30.0]))),
], ids=repr)
def test_samples_match_the_distribution(dist):
    rng = random.Random(42)
    xs = [dist.sample(rng) for _ in range(N)]
    assert math.fsum(xs) / N == pytest.approx(dist.mean, rel=0.03)
    if not isinstance(dist, (Fixed, Empirical)):  # KS needs a continuous CDF
        assert ks_statistic(xs, dist) < ks_critical(N)


def test_ks_detects_a_wrong_distribution():
    rng = random.Random(1)
    xs = [LogNormal(120, 90).sample(rng) for _ in range(N)]
    assert ks_statistic(xs, Exponential(120)) > ks_critical(N)
    assert ks_statistic(xs, LogNormal(100, 90)) > ks_critical(N)


def test_lognormal_mean_and_sd_are_of_the_durations():
    rng = random.Random(5)
    xs = [LogNormal(120, 90).sample(rng) for _ in range(50_000)]
    mean = math.fsum(xs) / len(xs)
    sd = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (len(xs) - 1))
    assert mean == pytest.approx(120, rel=0.02)
    assert sd == pytest.approx(90, rel=0.05)


def test_empirical_file_reads_values_and_names_bad_lines(tmp_path):
    good = tmp_path / "talk.csv"
    good.write_text("seconds,agent\n# measured\n12.5,a\n\n3,b\n40\n")
    assert read_empirical(good).values == (3.0, 12.5, 40.0)
    bad = tmp_path / "bad.txt"
    bad.write_text("1\n2\nabc\n")
    with pytest.raises(ValueError, match=r"bad.txt: line 3: 'abc' is not a number"):
        read_empirical(bad)
    neg = tmp_path / "neg.txt"
    neg.write_text("-1\n")
    with pytest.raises(ValueError, match="line 1"):
        read_empirical(neg)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_example_profiles_load(path):
    profile = load_profile(path)
    probs = profile.outcomes.probabilities()
    assert math.fsum(probs.values()) == pytest.approx(1.0)
    assert set(probs) == set(OUTCOMES)


def test_pacing_profile_has_the_benchmark_scenario():
    profile = load_profile(ROOT / "config" / "sim" / "pacing-25.toml")
    probs = profile.outcomes.probabilities()
    assert probs["answered"] == pytest.approx(0.25)
    assert probs["busy"] == pytest.approx(0.10)
    assert probs["invalid"] == pytest.approx(0.05)
    assert probs["machine"] == pytest.approx(0.85 * 0.15)
    assert probs["no_answer"] == pytest.approx(1 - 0.25 - 0.1 - 0.05 - 0.1275)
    assert profile.talk.dist == LogNormal(120, 90)
    assert profile.ring.for_outcome("answered").dist.mean == 8
    assert profile.operators.wrap.dist == Fixed(30)


@pytest.mark.parametrize("text, message", [
    ('[talk]\nkind = "lognormal"\nmean = 120\n', 'x.toml: talk: sd is required for kind \'lognormal\''),
    ('[talk]\nkind = "gauss"\n', 'x.toml: talk.kind: "gauss" is not one of fixed'),
    ('[talk]\nkind = "fixed"\nvalue = -1\n', 'x.toml: talk.value: -1 must not be negative'),
    ('[talk]\nkind = "fixed"\nvalue = 1\nmean = 3\n', "talk: mean does not apply to kind 'fixed'"),
    ('[outcomes]\nanswered = 0.7\nbusy = 0.5\n', 'more than 1'),
    ('[outcomes]\nanswered = 1.5\n', 'x.toml: outcomes.answered: 1.5 must be between 0 and 1'),
    ('[outcomes]\nansw = 0.5\n', 'x.toml: outcomes.answ: unknown key'),
    ('[carrier]\nchannels = "many"\n', 'x.toml: carrier.channels: "many" is not a whole number'),
    ('[carrier.auth]\nusername = "u"\n', 'x.toml: carrier.auth.password: is required'),
    ('[ring]\nbusy = { kind = "uniform", low = 5, high = 1 }\n', 'ring.busy: high 1.0 is below low 5.0'),
    ('[talk]\nkind = "empirical"\nfile = "nope.txt"\n', 'x.toml: talk.file: '),
    ('talk = 3\n', 'x.toml: talk: 3 is not a table'),
    ('[talk\n', 'x.toml: not valid TOML'),
])
def test_profile_errors_name_file_and_key(text, message, tmp_path):
    with pytest.raises(ConfigError) as info:
        parse_profile(text, "x.toml", tmp_path)
    assert message in str(info.value)


def test_missing_profile_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no_such.toml: no such file"):
        load_profile(tmp_path / "no_such.toml")


def test_empirical_file_is_relative_to_the_profile(tmp_path):
    (tmp_path / "talk.txt").write_text("10\n20\n")
    (tmp_path / "p.toml").write_text('[talk]\nkind = "empirical"\nfile = "talk.txt"\n')
    profile = load_profile(tmp_path / "p.toml")
    assert profile.talk.dist.values == (10.0, 20.0)


@pytest.mark.parametrize("path", PROFILES, ids=lambda p: p.name)
def test_outcome_frequencies_match_the_profile(path):
    profile = load_profile(path)
    population = Population(profile, seed=123)
    n = N
    plans = [population.next_plan() for _ in range(n)]
    counts = {o: sum(p.outcome == o for p in plans) for o in OUTCOMES}
    for outcome, p in profile.outcomes.probabilities().items():
        assert _within(counts[outcome], n, p), (outcome, counts[outcome], n * p)


def test_talk_times_pass_ks_and_statuses_follow_outcomes():
    profile = load_profile(ROOT / "config" / "sim" / "pacing-25.toml")
    population = Population(profile, seed=9)
    plans = [population.next_plan() for _ in range(N)]
    talk = [p.talk for p in plans if p.outcome == "answered"]
    assert len(talk) > 4000
    assert ks_statistic(talk, profile.talk.dist) < ks_critical(len(talk))
    ring = [p.ring for p in plans if p.outcome == "answered"]
    assert ks_statistic(ring, profile.ring.for_outcome("answered").dist) < ks_critical(len(ring))
    status = {p.outcome: p.status for p in plans}
    assert status == {"answered": 200, "machine": 200, "busy": 486, "invalid": 404, "no_answer": 480}
    assert all(p.ring == math.inf for p in plans if p.outcome == "no_answer")
    machines = [p for p in plans if p.outcome == "machine"]
    assert all(6 <= p.greeting <= 14 and p.talk == pytest.approx(p.greeting + 20) for p in machines)


def test_fate_depends_on_number_and_attempt_not_on_arrival_order():
    profile = load_profile(ROOT / "config" / "sim" / "default.toml")
    numbers = [f"+1555000{i:04d}" for i in range(500)]
    a = Population(profile, seed=4)
    first = {n: a.plan_for(n) for n in numbers}
    second = {n: a.plan_for(n) for n in numbers}
    b = Population(profile, seed=4)
    reversed_first = {n: b.plan_for(n) for n in reversed(numbers)}
    assert first == reversed_first
    assert first != second  # a retry is a fresh draw
    c = Population(profile, seed=5)
    assert first != {n: c.plan_for(n) for n in numbers}
