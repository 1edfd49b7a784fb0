"""Config files (TOML) loaded into typed objects with clear errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

from .loader import ConfigError, read_config
from .model import (CallingHours, CallModeConfig, CampaignConfig, Config, ListConfig, NodeConfig,
                    PacingConfig, TimezoneRule, TrunkConfig, WrapCodeConfig)

__all__ = ["ConfigError", "load_config", "parse_config", "Config", "CampaignConfig", "CallingHours",
           "ListConfig", "CallModeConfig", "WrapCodeConfig", "PacingConfig", "TrunkConfig",
           "TimezoneRule", "NodeConfig"]


def parse_config(text: str, source: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None
    return read_config(Config, data, source)


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
    return parse_config(text, str(path))
