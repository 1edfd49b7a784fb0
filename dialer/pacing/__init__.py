"""Pacing: how many calls to launch now. Pure — snapshot in, decision out; no I/O, no clocks.

See docs/PACING.md for the interface the campaign runner uses.
"""

from .abandon import AbandonController, AbandonWindows
from .base import Pacer
from .baselines import AdaptiveDialLevelPacer, PowerPacer, PreviewPacer, ProgressivePacer
from .estimators import GRID, CallTimingEstimate, DurationEstimate
from .factory import MODES, make_pacer
from .predictive import PredictivePacer
from .snapshot import (CallResolved, Decision, Event, LiveAnswerSettled, Snapshot, TalkEnded,
                       WrapEnded)

__all__ = ["AbandonController", "AbandonWindows", "AdaptiveDialLevelPacer", "CallResolved",
           "CallTimingEstimate", "Decision", "DurationEstimate", "Event", "GRID", "LiveAnswerSettled",
           "MODES", "Pacer", "PowerPacer", "PredictivePacer", "PreviewPacer", "ProgressivePacer",
           "Snapshot", "TalkEnded", "WrapEnded", "make_pacer"]
