"""Random durations: fixed, uniform, exponential, lognormal (mean, sd), empirical.

Every distribution draws from a `random.Random` the caller passes in, so the
caller decides what is seeded and how (the population uses one generator per
call, keyed by the called number). Each also knows its `cdf`, which the
statistical tests use for a Kolmogorov–Smirnov check.
"""

from __future__ import annotations

import bisect
import math
import random
from dataclasses import dataclass
from pathlib import Path


class Distribution:
    """A distribution of non-negative durations in seconds."""

    def sample(self, rng: random.Random) -> float:
        raise NotImplementedError

    def cdf(self, x: float) -> float:
        raise NotImplementedError

    @property
    def mean(self) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class Fixed(Distribution):
    value: float

    def sample(self, rng: random.Random) -> float:
        return self.value

    def cdf(self, x: float) -> float:
        return 1.0 if x >= self.value else 0.0

    @property
    def mean(self) -> float:
        return self.value


@dataclass(frozen=True)
class Uniform(Distribution):
    low: float
    high: float

    def sample(self, rng: random.Random) -> float:
        return self.low + (self.high - self.low) * rng.random()

    def cdf(self, x: float) -> float:
        if x <= self.low:
            return 0.0
        if x >= self.high:
            return 1.0
        return (x - self.low) / (self.high - self.low)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


@dataclass(frozen=True)
class Exponential(Distribution):
    mean_value: float

    def sample(self, rng: random.Random) -> float:
        return rng.expovariate(1.0 / self.mean_value)

    def cdf(self, x: float) -> float:
        return 0.0 if x <= 0 else 1.0 - math.exp(-x / self.mean_value)

    @property
    def mean(self) -> float:
        return self.mean_value


@dataclass(frozen=True)
class LogNormal(Distribution):
    """Lognormal given by the mean and standard deviation of the durations
    themselves (what people measure), not of their logarithm."""

    mean_value: float
    sd: float

    @property
    def sigma(self) -> float:
        return math.sqrt(math.log1p((self.sd / self.mean_value) ** 2))

    @property
    def mu(self) -> float:
        return math.log(self.mean_value) - self.sigma ** 2 / 2

    def sample(self, rng: random.Random) -> float:
        if self.sd == 0:
            return self.mean_value
        return rng.lognormvariate(self.mu, self.sigma)

    def cdf(self, x: float) -> float:
        if x <= 0:
            return 0.0
        if self.sd == 0:
            return 1.0 if x >= self.mean_value else 0.0
        return 0.5 * (1.0 + math.erf((math.log(x) - self.mu) / (self.sigma * math.sqrt(2))))

    @property
    def mean(self) -> float:
        return self.mean_value


@dataclass(frozen=True)
class Empirical(Distribution):
    """Resamples measured values (e.g. talk times exported from a real dialer)."""

    values: tuple[float, ...]  # sorted

    def sample(self, rng: random.Random) -> float:
        return self.values[rng.randrange(len(self.values))]

    def cdf(self, x: float) -> float:
        return bisect.bisect_right(self.values, x) / len(self.values)

    @property
    def mean(self) -> float:
        return math.fsum(self.values) / len(self.values)


class EmpiricalFileError(ValueError):
    pass


def read_empirical(path: str | Path) -> Empirical:
    """Values in seconds, one per line (or the first column of a CSV line);
    blank lines, `#` comments and a non-numeric header line are skipped."""
    path = Path(path)
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        raise EmpiricalFileError(f"{path}: no such file") from None
    except UnicodeDecodeError as exc:
        raise EmpiricalFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    values: list[float] = []
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].split(",", 1)[0].strip()
        if not text:
            continue
        try:
            value = float(text)
        except ValueError:
            if not values and number == 1:
                continue  # a header
            raise EmpiricalFileError(f"{path}: line {number}: {text!r} is not a number") from None
        if not math.isfinite(value) or value < 0:
            raise EmpiricalFileError(f"{path}: line {number}: {text!r} is not a duration >= 0")
        values.append(value)
    if not values:
        raise EmpiricalFileError(f"{path}: holds no values")
    return Empirical(tuple(sorted(values)))


def ks_statistic(samples: list[float], dist: Distribution) -> float:
    """The Kolmogorov–Smirnov distance between `samples` and `dist`'s CDF."""
    xs = sorted(samples)
    n = len(xs)
    d = 0.0
    for i, x in enumerate(xs):
        f = dist.cdf(x)
        d = max(d, (i + 1) / n - f, f - i / n)
    return d


def ks_critical(n: int, alpha: float = 0.01) -> float:
    """Asymptotic one-sample KS critical value: reject above this at `alpha`."""
    return math.sqrt(-0.5 * math.log(alpha / 2)) / math.sqrt(n)
