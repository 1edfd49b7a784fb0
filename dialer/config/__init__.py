"""Config files (TOML) loaded into typed objects with clear errors."""

from __future__ import annotations

from pathlib import Path

from .loader import ConfigError, parse_toml, read_config, read_text_file
from .model import (CallingHours, CallModeConfig, CampaignConfig, Config, ListConfig, NodeConfig,
                    PacingConfig, TimezoneRule, TrunkConfig, WrapCodeConfig)

__all__ = ["ConfigError", "load_config", "parse_config", "Config", "CampaignConfig", "CallingHours",
           "ListConfig", "CallModeConfig", "WrapCodeConfig", "PacingConfig", "TrunkConfig",
           "TimezoneRule", "NodeConfig"]


def parse_config(text: str, source: str = "<config>") -> Config:
    return read_config(Config, parse_toml(text, source), source)


def load_config(path: str | Path) -> Config:
    return parse_config(read_text_file(path), str(path))
