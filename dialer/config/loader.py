"""Turn parsed TOML into typed dataclasses, collecting one error per problem.

The target types are plain dataclasses; their annotations say what each key
must be (str, int, float, bool, time, date, Literal choices, lists, nested
dataclasses, optional values). Extra checks ride in field metadata:
`field(metadata={"check": fn})` where fn returns an error text or None.
Every error names the file, the key path and what is wrong, e.g.
`config/demo.toml: campaigns[0].calling_hours.start: "25:00" is not a time`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import types
import typing
from typing import Any, Literal, Union


class ConfigError(Exception):
    """One or more problems in a config file; `problems` lists each message."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


_MISSING = object()


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value) if not isinstance(value, bool) else str(value).lower()


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def parse_time(value: Any) -> dt.time | None:
    if isinstance(value, dt.time):
        return value
    if isinstance(value, str):
        try:
            hours, minutes = value.split(":")
            if len(minutes) == 2 and hours.isdigit() and minutes.isdigit():
                h, m = int(hours), int(minutes)
                if h == 24 and m == 0:
                    return dt.time.max  # "24:00": until the end of the day
                return dt.time(h, m)
        except ValueError:
            pass
    return None


class _Reader:
    def __init__(self, source: str):
        self.source = source
        self.problems: list[str] = []

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{self.source}: {path}: {text}")

    def read(self, tp: Any, value: Any, path: str) -> Any:
        origin = typing.get_origin(tp)
        if origin in (Union, types.UnionType):
            options = [a for a in typing.get_args(tp) if a is not type(None)]
            if value is None:
                return None
            return self.read(options[0], value, path)
        if origin is Literal:
            choices = typing.get_args(tp)
            if value not in choices:
                self.problem(path, f"{_show(value)} is not one of {', '.join(map(str, choices))}")
                return _MISSING
            return value
        if origin is list:
            (item_tp,) = typing.get_args(tp)
            if not isinstance(value, list):
                self.problem(path, f"{_show(value)} is not a list")
                return _MISSING
            items = [self.read(item_tp, v, _join(path, i)) for i, v in enumerate(value)]
            return [v for v in items if v is not _MISSING]
        if origin is dict:
            key_tp, value_tp = typing.get_args(tp)
            if not isinstance(value, dict):
                self.problem(path, f"{_show(value)} is not a table")
                return _MISSING
            out = {}
            for k, v in value.items():
                item = self.read(value_tp, v, _join(path, k))
                if item is not _MISSING:
                    out[k] = item
            return out
        if dataclasses.is_dataclass(tp):
            return self.read_dataclass(tp, value, path)
        return self.read_scalar(tp, value, path)

    def read_scalar(self, tp: Any, value: Any, path: str) -> Any:
        if tp is bool:
            if isinstance(value, bool):
                return value
            self.problem(path, f"{_show(value)} is not true or false")
        elif tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            self.problem(path, f"{_show(value)} is not a whole number")
        elif tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            self.problem(path, f"{_show(value)} is not a number")
        elif tp is str:
            if isinstance(value, str):
                return value
            self.problem(path, f"{_show(value)} is not a string")
        elif tp is dt.time:
            parsed = parse_time(value)
            if parsed is not None:
                return parsed
            self.problem(path, f"{_show(value)} is not a time (HH:MM)")
        elif tp is dt.date:
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
                return value
            if isinstance(value, str):
                try:
                    return dt.date.fromisoformat(value)
                except ValueError:
                    pass
            self.problem(path, f"{_show(value)} is not a date (YYYY-MM-DD)")
        elif tp is Any:
            return value
        else:  # pragma: no cover - a programming error in a config class
            raise TypeError(f"unsupported config type {tp!r} at {path}")
        return _MISSING

    def read_dataclass(self, cls: type, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            self.problem(path or "(top)", f"{_show(value)} is not a table")
            return _MISSING
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
        for key in value:
            if key not in fields:
                self.problem(_join(path, key), f"unknown key (known: {', '.join(sorted(fields))})")
        kwargs = {}
        broken = False
        for name, f in fields.items():
            key_path = _join(path, name)
            if name in value:
                item = self.read(hints[name], value[name], key_path)
                if item is _MISSING:
                    broken = True
                    continue
                check = f.metadata.get("check")
                if check is not None and item is not None:
                    text = check(item)
                    if text:
                        self.problem(key_path, f"{_show(value[name])} {text}")
                        broken = True
                        continue
                kwargs[name] = item
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                self.problem(key_path, "is required")
                broken = True
        if broken:
            return _MISSING
        try:
            obj = cls(**kwargs)
        except ValueError as exc:  # __post_init__ cross-field checks
            self.problem(path or "(top)", str(exc))
            return _MISSING
        return obj


def read_config(cls: type, data: dict, source: str) -> Any:
    """Build `cls` from parsed TOML `data`; raise ConfigError listing every problem."""
    reader = _Reader(source)
    result = reader.read_dataclass(cls, data, "")
    if reader.problems:
        raise ConfigError(reader.problems)
    return result


def parse_toml(text: str, source: str) -> dict:
    """Parsed TOML, or ConfigError naming the source and what is wrong."""
    import tomllib

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: not valid TOML: {exc}"]) from None


def read_text_file(path) -> str:
    """A config file's text, or ConfigError for a missing or non-UTF-8 file."""
    from pathlib import Path

    path = Path(path)
    try:
        return path.read_text("utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text (byte {exc.start})"]) from None
