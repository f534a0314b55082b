"""Strict conversion between plain dicts and typed config dataclasses, with declared ranges.

`from_dict` builds a dataclass from a mapping and rejects unknown keys, wrong types and values out
of range, naming the dotted key; `to_dict` is its inverse (tuples become lists); `merge` deep-merges
a partial override. A field's range (`>= 1`, `> 0`, one of ...) is declared once, on the field
(`bounded`), and checked wherever the field is built; `check_partial` checks a partial config's
keys, types and ranges without building it (a matrix's defaults, a scale's override, one row).
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import field
from typing import Any, Collection


class ConfigError(ValueError):
    """A config value or key is wrong; `key` is the dotted path to it."""

    def __init__(self, key: str, problem: str):
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


def bounded(default: Any, *, ge: float | None = None, gt: float | None = None, le: float | None = None,
            choices: Collection[Any] | None = None) -> Any:
    """A dataclass field with a range: `ge` / `gt` / `le` bounds (for a tuple: of each item) or `choices`."""
    rule = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("choices", choices)) if v is not None}
    return field(default=default, metadata={"range": rule})


def _check_range(rule: dict[str, Any], value: Any, key: str) -> None:
    if value is None or not rule:
        return
    if isinstance(value, tuple):
        for i, item in enumerate(value):
            _check_range(rule, item, f"{key}[{i}]")
        return
    if "choices" in rule and value not in rule["choices"]:
        raise ConfigError(key, f"must be one of {', '.join(map(str, rule['choices']))}, got {value!r}")
    if "ge" in rule and value < rule["ge"]:
        raise ConfigError(key, f"must be >= {rule['ge']:g}, got {value!r}")
    if "gt" in rule and value <= rule["gt"]:
        raise ConfigError(key, f"must be > {rule['gt']:g}, got {value!r}")
    if "le" in rule and value > rule["le"]:
        raise ConfigError(key, f"must be <= {rule['le']:g}, got {value!r}")


def to_dict(obj: Any) -> Any:
    """Dataclass -> plain JSON-able dict (tuples become lists)."""
    if dataclasses.is_dataclass(obj):
        return {f.name: to_dict(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_dict(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_dict(v) for k, v in obj.items()}
    return obj


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def coerce(tp: Any, value: Any, key: str) -> Any:
    """`value` checked against annotation `tp` (lists become tuples); ConfigError naming `key`."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(arg, value, key)
            except ConfigError as exc:
                errors.append(exc.problem)
        raise ConfigError(key, errors[0] if len(errors) == 1 else f"got {value!r} of the wrong type")
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(key, f"must be a mapping, got {type(value).__name__}")
        return from_dict(tp, value, key)
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(key, f"must be a list, got {type(value).__name__}")
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(args[0], v, f"{key}[{i}]") for i, v in enumerate(value))
        if len(args) != len(value):
            raise ConfigError(key, f"must have {len(args)} items, got {len(value)}")
        return tuple(coerce(a, v, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(key, f"must be a string, got {value!r}")
        return value
    if tp is Any:
        return value
    raise ConfigError(key, f"unsupported type {tp}")


def check_fields(obj: Any) -> None:
    """The declared ranges of a built dataclass's fields (defaults included)."""
    for f in dataclasses.fields(obj):
        _check_range(f.metadata.get("range", {}), getattr(obj, f.name), f.name)


def _fields(cls: type, data: Any, where: str) -> dict[str, tuple[Any, dataclasses.Field]]:
    """{key: (type, field)} of the keys of `data`; unknown keys and non-mappings raise ConfigError."""
    if not isinstance(data, dict):
        raise ConfigError(where, f"must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ConfigError(_join(where, str(key)), f"unknown key (known: {', '.join(sorted(fields))})")
    return {key: (hints[key], fields[key]) for key in data}


def check_partial(cls: type, data: dict[str, Any], where: str = "") -> None:
    """Check a partial config (a matrix row, defaults, an override) against dataclass `cls`:
    keys, types and each field's declared range, without building it (other fields may come from
    elsewhere, so checks that relate several fields wait for the resolved config)."""
    for key, (tp, f) in _fields(cls, data, where).items():
        value = data[key]
        if dataclasses.is_dataclass(tp) and isinstance(value, dict):
            check_partial(tp, value, _join(where, key))
            continue
        _check_range(f.metadata.get("range", {}), coerce(tp, value, _join(where, key)), _join(where, key))


def field_type(cls: type, dotted: str) -> Any:
    """The annotation of the field at `dotted` (e.g. "schedule.epochs") under `cls`; None if none."""
    node: Any = cls
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(node):
            return None
        hints = typing.get_type_hints(node)
        if part not in {f.name for f in dataclasses.fields(node) if f.init}:
            return None
        node = hints[part]
    return node


def from_dict(cls: type, data: dict[str, Any], where: str = "") -> Any:
    """Build dataclass `cls` from `data`; unknown keys, wrong types and values out of range raise
    `ConfigError` naming the dotted key."""
    kwargs = {}
    for key, (tp, _) in _fields(cls, data, where).items():
        kwargs[key] = coerce(tp, data[key], _join(where, key))
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        raise ConfigError(_join(where, exc.key), exc.problem) from None
    except (ValueError, TypeError) as exc:
        raise ConfigError(where, str(exc)) from None


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into a copy of `base` (a matrix row is a partial override)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
