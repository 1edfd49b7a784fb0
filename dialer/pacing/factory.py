"""Build the pacer a campaign's settings ask for."""

from __future__ import annotations

from dialer.config.model import PacingConfig

from .base import Pacer
from .baselines import AdaptiveDialLevelPacer, PowerPacer, PreviewPacer, ProgressivePacer
from .predictive import PredictivePacer

MODES: dict[str, type[Pacer]] = {
    "preview": PreviewPacer,
    "progressive": ProgressivePacer,
    "power": PowerPacer,
    "predictive": PredictivePacer,
    "adaptive": AdaptiveDialLevelPacer,   # the VICIdial-style baseline
}


def make_pacer(mode: str, config: PacingConfig | None = None) -> Pacer:
    """A fresh pacer for `mode`; ValueError naming the mode if unknown or not allowed."""
    config = config or PacingConfig()
    if mode not in MODES:
        raise ValueError(f"pacing mode {mode!r}: not one of {', '.join(MODES)}")
    if mode != "adaptive" and mode not in config.allowed_modes:
        raise ValueError(f"pacing mode {mode!r}: not in this campaign's allowed_modes "
                         f"({', '.join(config.allowed_modes)})")
    return MODES[mode](config)
