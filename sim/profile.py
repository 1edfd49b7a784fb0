"""A simulation profile (TOML) read into typed objects.

One file describes the called-party population (how often each outcome
happens and how long things take), the carrier in front of it (channel and
CPS limits, digest challenge), the network (loss, latency) and the operator
team. `docs/SIMULATOR.md` documents every key; `config/sim/*.toml` are
examples. Errors name the file and the key path, like the dialer's own config:
`config/sim/x.toml: talk.sd: is required for kind "lognormal"`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal

from dialer.config.loader import ConfigError, parse_toml, read_config, read_text_file

from .distributions import (Distribution, EmpiricalFileError, Exponential, Fixed, LogNormal, Uniform,
                            read_empirical)

# The dialer's own outcome names (dialer.config.model.OUTCOMES), so the carrier's
# counts can be compared with the dialer's attempt rows one to one.
OUTCOMES = ("answered", "machine", "busy", "no_answer", "invalid", "rejected", "failed")
Outcome = Literal["answered", "machine", "busy", "no_answer", "invalid", "rejected", "failed"]

# What the carrier answers for each outcome that is not answered with 200.
FINAL_STATUS = {"busy": 486, "invalid": 404, "rejected": 603, "failed": 503, "no_answer": 480}

_KIND_KEYS = {
    "fixed": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("mean", "sd"),
    "empirical": ("file",),
}


def _not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def _positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _fraction(value: float) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


@dataclass
class DistributionConfig:
    """`{ kind = "lognormal", mean = 120, sd = 90 }` and friends (seconds)."""

    kind: Literal["fixed", "uniform", "exponential", "lognormal", "empirical"]
    value: float | None = field(default=None, metadata={"check": _not_negative})
    low: float | None = field(default=None, metadata={"check": _not_negative})
    high: float | None = field(default=None, metadata={"check": _not_negative})
    mean: float | None = field(default=None, metadata={"check": _positive})
    sd: float | None = field(default=None, metadata={"check": _not_negative})
    file: str | None = None  # empirical: relative to the profile's folder

    def __post_init__(self) -> None:
        needed = _KIND_KEYS[self.kind]
        missing = [k for k in needed if getattr(self, k) is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} is required for kind {self.kind!r}")
        extra = [k for keys in _KIND_KEYS.values() for k in keys
                 if k not in needed and getattr(self, k) is not None]
        if extra:
            raise ValueError(f"{', '.join(sorted(set(extra)))} does not apply to kind {self.kind!r}")
        if self.kind == "uniform" and self.high < self.low:
            raise ValueError(f"high {self.high} is below low {self.low}")
        self._dist: Distribution | None = None

    def build(self, base_dir: Path) -> Distribution:
        if self._dist is None:
            if self.kind == "fixed":
                self._dist = Fixed(self.value)
            elif self.kind == "uniform":
                self._dist = Uniform(self.low, self.high)
            elif self.kind == "exponential":
                self._dist = Exponential(self.mean)
            elif self.kind == "lognormal":
                self._dist = LogNormal(self.mean, self.sd)
            else:
                self._dist = read_empirical(base_dir / self.file)
        return self._dist

    @property
    def dist(self) -> Distribution:
        if self._dist is None:  # built by load/parse_profile; fixed kinds need no file
            return self.build(Path("."))
        return self._dist


def fixed(value: float) -> DistributionConfig:
    return DistributionConfig(kind="fixed", value=value)


@dataclass
class OutcomesConfig:
    """Fractions of calls per outcome. The outcome named by `rest` gets what the others leave."""

    answered: float | None = field(default=None, metadata={"check": _fraction})
    machine: float | None = field(default=None, metadata={"check": _fraction})
    busy: float | None = field(default=None, metadata={"check": _fraction})
    no_answer: float | None = field(default=None, metadata={"check": _fraction})
    invalid: float | None = field(default=None, metadata={"check": _fraction})
    rejected: float | None = field(default=None, metadata={"check": _fraction})
    failed: float | None = field(default=None, metadata={"check": _fraction})
    rest: Outcome = "no_answer"

    def __post_init__(self) -> None:
        given = {o: getattr(self, o) for o in OUTCOMES if getattr(self, o) is not None}
        total = math.fsum(given.values())
        if total > 1 + 1e-9:
            raise ValueError(f"outcomes: the fractions add up to {total:g}, more than 1")
        if self.rest in given and abs(total - 1) > 1e-9:
            raise ValueError(f"outcomes: {self.rest} is the rest but is also given, "
                             f"and the fractions add up to {total:g}, not 1")

    def probabilities(self) -> dict[str, float]:
        """Every outcome's probability, adding up to 1."""
        probs = {o: getattr(self, o) or 0.0 for o in OUTCOMES}
        given = math.fsum(v for o, v in probs.items() if o != self.rest)
        probs[self.rest] = max(0.0, 1.0 - given)
        return probs


@dataclass
class RingConfig:
    """Seconds from the INVITE to the final answer, per outcome; `default` for the others.
    For no_answer it is ignored: those calls ring until CANCEL (or carrier.no_answer_limit)."""

    default: DistributionConfig = field(default_factory=lambda: DistributionConfig(
        kind="lognormal", mean=8.0, sd=5.0))
    answered: DistributionConfig | None = None
    machine: DistributionConfig | None = None
    busy: DistributionConfig | None = None
    invalid: DistributionConfig | None = None
    rejected: DistributionConfig | None = None
    failed: DistributionConfig | None = None

    def for_outcome(self, outcome: str) -> DistributionConfig:
        return getattr(self, outcome, None) or self.default


@dataclass
class MachineConfig:
    """An answering machine answers, plays its greeting, beeps, records, then hangs up."""

    greeting: DistributionConfig = field(default_factory=lambda: DistributionConfig(
        kind="uniform", low=5.0, high=15.0))
    recording: DistributionConfig = field(default_factory=lambda: fixed(30.0))


@dataclass
class AuthConfig:
    """Digest challenge on every INVITE (and its CANCEL is never challenged, per RFC 3261)."""

    username: str
    password: str
    realm: str = "sim.dialer.local"
    status: Literal[401, 407] = 407


@dataclass
class CarrierConfig:
    channels: int = field(default=0, metadata={"check": _not_negative})  # 0: unlimited
    cps: float = field(default=0.0, metadata={"check": _not_negative})  # 0: unlimited
    no_answer_limit: float = field(default=0.0, metadata={"check": _not_negative})  # 0: until CANCEL
    early_media: bool = False  # 183 + SDP instead of 180 while ringing
    auth: AuthConfig | None = None


@dataclass
class NetworkConfig:
    """Impairment of the in-memory network (and `loss` also on real UDP)."""

    loss: float = field(default=0.0, metadata={"check": _fraction})
    latency: float = field(default=0.0, metadata={"check": _not_negative})
    jitter: float = field(default=0.0, metadata={"check": _not_negative})


@dataclass
class BreakConfig:
    after: float = field(metadata={"check": _not_negative})  # seconds after log-in
    length: DistributionConfig = field(default_factory=lambda: fixed(900.0))


@dataclass
class OperatorsConfig:
    count: int = field(default=10, metadata={"check": _not_negative})
    login: DistributionConfig = field(default_factory=lambda: fixed(0.0))  # offset from start
    shift: float = field(default=0.0, metadata={"check": _not_negative})  # seconds; 0: until stopped
    answer_delay: DistributionConfig = field(default_factory=lambda: fixed(0.2))
    wrap: DistributionConfig = field(default_factory=lambda: fixed(30.0))
    wrap_codes: dict[str, float] = field(default_factory=lambda: {"NI": 0.6, "SALE": 0.1, "CALLBK": 0.3})
    breaks: list[BreakConfig] = field(default_factory=list)

    def __post_init__(self) -> None:
        bad = [code for code, w in self.wrap_codes.items() if w < 0]
        if bad:
            raise ValueError(f"wrap_codes.{bad[0]}: weight must not be negative")
        if self.wrap_codes and math.fsum(self.wrap_codes.values()) <= 0:
            raise ValueError("wrap_codes: the weights add up to 0")


@dataclass
class Profile:
    name: str = "default"
    description: str = ""
    seed: int = 1
    outcomes: OutcomesConfig = field(default_factory=lambda: OutcomesConfig(answered=0.3, machine=0.1,
                                                                            busy=0.1, invalid=0.05))
    ring: RingConfig = field(default_factory=RingConfig)
    talk: DistributionConfig = field(default_factory=lambda: DistributionConfig(
        kind="lognormal", mean=120.0, sd=90.0))
    machine: MachineConfig = field(default_factory=MachineConfig)
    carrier: CarrierConfig = field(default_factory=CarrierConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    operators: OperatorsConfig = field(default_factory=OperatorsConfig)


def _distributions(obj, path: str):
    """Every DistributionConfig inside `obj`, with its key path."""
    if isinstance(obj, DistributionConfig):
        yield path, obj
    elif isinstance(obj, list):
        for i, item in enumerate(obj):
            yield from _distributions(item, f"{path}[{i}]")
    elif hasattr(obj, "__dataclass_fields__"):
        for f in fields(obj):
            yield from _distributions(getattr(obj, f.name), f"{path}.{f.name}" if path else f.name)


def build_distributions(profile: Profile, base_dir: Path, source: str) -> None:
    problems = []
    for path, config in _distributions(profile, ""):
        try:
            config.build(base_dir)
        except EmpiricalFileError as exc:
            problems.append(f"{source}: {path}.file: {exc}")
    if problems:
        raise ConfigError(problems)


def parse_profile(text: str, source: str = "<profile>", base_dir: Path | None = None) -> Profile:
    profile = read_config(Profile, parse_toml(text, source), source)
    build_distributions(profile, base_dir or Path("."), source)
    return profile


def load_profile(path: str | Path) -> Profile:
    path = Path(path)
    return parse_profile(read_text_file(path), str(path), path.parent)
