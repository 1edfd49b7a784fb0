"""Compliance: when a lead may be called (windows, state rules, holidays) and
whether it may be called at all right now (DNC, abandon lock-out, daily limits)."""

from .rules import RulesTable, default_rules
from .windows import CallingWindow

__all__ = ["CallingWindow", "RulesTable", "default_rules"]
