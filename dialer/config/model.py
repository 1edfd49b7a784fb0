"""The typed shape of a dialer config file. `config/example.toml` documents every key."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass, field
from typing import Literal

OUTCOMES = ("answered", "machine", "busy", "no_answer", "invalid", "rejected", "failed",
            "abandoned", "unknown")


def _check_zone(name: str) -> str | None:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return "is not an IANA timezone"
    return None


def _check_country(code: str) -> str | None:
    import phonenumbers

    if code.upper() not in phonenumbers.SUPPORTED_REGIONS:
        return "is not a country code phonenumbers knows (e.g. US, GB, AU)"
    return None


def _check_positive(value: float) -> str | None:
    return None if value > 0 else "must be greater than 0"


def _check_not_negative(value: float) -> str | None:
    return None if value >= 0 else "must not be negative"


def _check_weekdays(days: list[int]) -> str | None:
    return None if all(1 <= d <= 7 for d in days) else "must hold ISO weekdays 1 (Monday) to 7 (Sunday)"


def _check_fraction(value: float) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


def _check_port(value: int) -> str | None:
    return None if 0 < value < 65536 else "is not a port number"


def _check_name(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


@dataclass
class CallingHours:
    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(21, 0)
    days: list[int] = field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7],
                            metadata={"check": _check_weekdays})

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError(f"calling_hours: end {self.end:%H:%M} is not after start {self.start:%H:%M}")


@dataclass
class ListConfig:
    name: str = field(metadata={"check": _check_name})
    weight: int = field(default=100, metadata={"check": _check_not_negative})
    to_dial: bool = True
    strategy: Literal["oldest", "newest", "fewest_attempts", "random"] = "oldest"
    active: bool = True


@dataclass
class CallModeConfig:
    name: str = field(metadata={"check": _check_name})
    new_lead_priority: bool = False
    time_on_standard_minutes: int | None = field(default=None, metadata={"check": _check_positive})
    put_off_minutes: dict[str, int] = field(default_factory=dict)  # outcome -> minutes
    max_attempts: int | None = field(default=None, metadata={"check": _check_positive})
    exhausted_status: str | None = None

    def __post_init__(self) -> None:
        for outcome, minutes in self.put_off_minutes.items():
            if outcome not in OUTCOMES:
                raise ValueError(f"put_off_minutes.{outcome}: not an outcome ({', '.join(OUTCOMES)})")
            if minutes < 0:
                raise ValueError(f"put_off_minutes.{outcome}: {minutes} must not be negative")


@dataclass
class WrapCodeConfig:
    code: str = field(metadata={"check": _check_name})
    label: str = ""
    completes: bool = False
    retry_after_minutes: int | None = field(default=None, metadata={"check": _check_not_negative})
    next_status: str | None = None
    adds_dnc: bool = False
    needs_validation: bool = False
    is_callback: bool = False


@dataclass
class StatusConfig:
    code: str = field(metadata={"check": _check_name})
    label: str = ""
    auto_dial: bool = False                   # leads in this status are dialed automatically
    call_mode: str | None = None
    completed: bool = False


@dataclass
class PacingConfig:
    target_abandon_rate: float = field(default=0.03, metadata={"check": _check_fraction})
    max_lines_per_operator: float = field(default=3.0, metadata={"check": _check_positive})
    min_dial_level: float = field(default=1.0, metadata={"check": _check_positive})
    max_dial_level: float = field(default=3.0, metadata={"check": _check_positive})
    power_ratio: float = field(default=1.5, metadata={"check": _check_positive})
    allowed_modes: list[Literal["preview", "progressive", "power", "predictive"]] = field(
        default_factory=lambda: ["preview", "progressive", "power", "predictive"])
    # Below this many active operators the predictive pacer dials progressively.
    predictive_min_operators: int = field(default=3, metadata={"check": _check_not_negative})
    ring_timeout_seconds: float = field(default=25.0, metadata={"check": _check_positive})
    # Steer this far under target_abandon_rate at least; the predictive pacer adds more
    # margin while the day has few live answers and for small teams (docs/PACING.md).
    abandon_safety_margin: float = field(default=0.001, metadata={"check": _check_fraction})
    # The VICIdial-style baseline's intensity (-40..40).
    adaptive_intensity: float = 0.0


@dataclass
class CampaignConfig:
    name: str = field(metadata={"check": _check_name})
    country: str = field(default="US", metadata={"check": _check_country})
    timezone: str = field(default="America/New_York", metadata={"check": _check_zone})
    purpose: str | None = None
    calling_hours: CallingHours = field(default_factory=CallingHours)
    holidays: list[dt.date] = field(default_factory=list)
    dial_mode: Literal["preview", "progressive", "power", "predictive"] = "progressive"
    active: bool = True
    caller_id: str | None = None
    validation: bool = False
    abandon_lockout_hours: float | None = field(default=None, metadata={"check": _check_not_negative})
    max_daily_attempts_per_number: int | None = field(default=None, metadata={"check": _check_positive})
    lists: list[ListConfig] = field(default_factory=list)
    call_modes: list[CallModeConfig] = field(default_factory=list)
    wrap_codes: list[WrapCodeConfig] = field(default_factory=list)
    statuses: list[StatusConfig] = field(default_factory=list)
    outcome_status: dict[str, str] = field(default_factory=dict)   # outcome -> status code
    callback_grace_minutes: float = field(default=15.0, metadata={"check": _check_not_negative})
    callback_grace_action: Literal["anyone", "wait"] = "anyone"
    editable_statuses: list[str] = field(default_factory=lambda: ["CAUTION"])
    pacing: PacingConfig = field(default_factory=PacingConfig)

    def __post_init__(self) -> None:
        for outcome in self.outcome_status:
            if outcome not in OUTCOMES:
                raise ValueError(f"outcome_status.{outcome}: not an outcome ({', '.join(OUTCOMES)})")


@dataclass
class TrunkConfig:
    name: str = field(metadata={"check": _check_name})
    host: str = field(metadata={"check": _check_name})
    port: int = field(default=5060, metadata={"check": _check_port})
    # SIP over UDP or TCP (one connection to the trunk shared by its calls; docs/SIP.md).
    transport: Literal["udp", "tcp"] = "udp"
    username: str | None = None
    password: str | None = None
    password_env: str | None = None           # read the password from this environment variable
    max_channels: int = field(default=100, metadata={"check": _check_positive})
    max_cps: float = field(default=10.0, metadata={"check": _check_positive})
    dial_prefix: str = ""
    strip_plus: bool = True                   # send 15551234567, not +15551234567
    caller_id: str | None = None
    order: int = 0                            # failover order: lower first
    register: bool = False
    options_interval_seconds: float | None = field(default=None, metadata={"check": _check_positive})
    breaker_failures: int = field(default=5, metadata={"check": _check_positive})
    breaker_seconds: float = field(default=30.0, metadata={"check": _check_positive})


@dataclass
class TimezoneRule:
    zone: str = field(metadata={"check": _check_zone})
    region: str | None = None                 # state / province, matched case-insensitively
    postal_prefix: str | None = None
    area_code: str | None = None

    def __post_init__(self) -> None:
        if not (self.region or self.postal_prefix or self.area_code):
            raise ValueError("timezone rule needs one of region, postal_prefix, area_code")


@dataclass
class NodeConfig:
    name: str = "node-1"
    sip_listen: str = "127.0.0.1:5060"
    http_listen: str = "127.0.0.1:8080"
    lease_seconds: float = field(default=60.0, metadata={"check": _check_positive})


@dataclass
class Config:
    node: NodeConfig = field(default_factory=NodeConfig)
    database_url: str | None = None
    campaigns: list[CampaignConfig] = field(default_factory=list)
    trunks: list[TrunkConfig] = field(default_factory=list)
    timezone_rules: list[TimezoneRule] = field(default_factory=list)

    def __post_init__(self) -> None:
        for kind, items in (("campaigns", self.campaigns), ("trunks", self.trunks)):
            names = [item.name for item in items]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(f"{kind}: name {dup[0]!r} is used more than once")
