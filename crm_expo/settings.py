"""Typed plugin settings: what each value is, how it is shown, and what it may be.

A plugin declares ``Plugin(default_settings={"booths.hold_minutes": SettingSpec(...)})``.
The admin settings page builds a form from the specs (one per plugin, global or per show),
and :func:`crm_expo.models.settings.set_setting` refuses a value the spec does not allow,
naming the setting. The one accessor is ``get_setting(key, show=None)`` (show value, else
global value, else the spec's default), in :mod:`crm_expo.models.settings`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _

from .errors import DomainError

TYPES = ("int", "float", "bool", "str", "choice", "list", "map")


class SettingError(DomainError):
    """A value a setting does not allow; ``field`` is the setting's key."""

    code = "invalid_setting"
    status = 400

    def __init__(self, message: str, field: str):
        super().__init__(message, field=field)


@dataclass(frozen=True)
class SettingSpec:
    """One setting. ``type``: int, float, bool, str, choice (one of ``choices``), list (a
    list of ``choices`` values, or of strings when there are none) or map (an int per key of
    ``choices``, e.g. minutes per priority). ``min``/``max`` bound int and float values and
    each value of a map. ``choices`` are (value, lazy title) pairs."""
    type: str
    default: Any
    label: Any
    help: Any = ""
    min: float | None = None
    max: float | None = None
    choices: tuple[tuple[Any, Any], ...] = ()
    # The key of a number setting this one must stay above (ABC: the B limit above the A
    # limit); set_setting refuses a value that would break it, in either setting.
    above: str = ""

    def __post_init__(self):
        if self.type not in TYPES:
            raise ValueError(f"setting type {self.type!r} is not one of {', '.join(TYPES)}")

    def _number(self, key: str, value: Any, label: Any) -> None:
        integer = self.type in ("int", "map")
        ok = isinstance(value, int) if integer else isinstance(value, (int, float))
        if not ok or isinstance(value, bool):
            raise SettingError(_("%(label)s must be a whole number.", label=label) if integer else
                               _("%(label)s must be a number.", label=label), key)
        if self.min is not None and value < self.min:
            raise SettingError(_("%(label)s must be at least %(min)s.", label=label, min=_fmt(self.min)), key)
        if self.max is not None and value > self.max:
            raise SettingError(_("%(label)s must be at most %(max)s.", label=label, max=_fmt(self.max)), key)

    def check(self, key: str, value: Any) -> Any:
        """The value if the spec allows it (an int is accepted for a float), else SettingError."""
        label = self.label
        allowed = [c for c, _title in self.choices]
        if self.type in ("int", "float"):
            self._number(key, value, label)
            return float(value) if self.type == "float" else value
        if self.type == "bool":
            if not isinstance(value, bool):
                raise SettingError(_("%(label)s must be yes or no.", label=label), key)
        elif self.type == "str":
            if not isinstance(value, str):
                raise SettingError(_("%(label)s must be text.", label=label), key)
        elif self.type == "choice":
            if value not in allowed:
                raise SettingError(_("%(label)s must be one of: %(choices)s.", label=label,
                                     choices=", ".join(str(c) for c in allowed)), key)
        elif self.type == "list":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingError(_("%(label)s must be a list.", label=label), key)
            unknown = [v for v in value if allowed and v not in allowed]
            if unknown:
                raise SettingError(_("%(label)s: unknown value %(values)s.", label=label,
                                     values=", ".join(unknown)), key)
        elif self.type == "map":
            if not isinstance(value, dict) or set(value) != set(allowed):
                raise SettingError(_("%(label)s needs a value for each of: %(keys)s.", label=label,
                                     keys=", ".join(allowed)), key)
            for sub, title in self.choices:
                self._number(key, value[sub], f"{label} · {title}")
        return value


def check_order(specs: dict, values: dict, key: str) -> None:
    """Refuse ``values`` (key → value, as they will be) where a setting is not above the one
    it must exceed; ``key`` the setting being changed (named in the message)."""
    for name, spec in specs.items():
        low = spec.above
        if low and name in values and low in values and not values[name] > values[low]:
            raise SettingError(_("%(high)s (%(hv)s) must be above %(low)s (%(lv)s).", high=spec.label,
                                 hv=_fmt(values[name]), low=specs[low].label, lv=_fmt(values[low])), key)


def _fmt(number: float) -> str:
    return f"{number:g}"


def spec_of(key: str, value: Any) -> SettingSpec:
    """A declared spec as it is; a bare default (a plugin not converted yet) gets a spec
    of its value's type, labelled with its key."""
    if isinstance(value, SettingSpec):
        return value
    kinds = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "map"}
    kind = kinds.get(type(value), "str")
    choices = tuple((k, k) for k in value) if kind == "map" else ()
    return SettingSpec(kind, value, key, choices=choices)
