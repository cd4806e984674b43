"""One place to turn a stored code into the words a reader sees.

Each code set keeps its mapping next to its model (``{"held": _l("Held"), …}``) and registers
it here under a name (``register("booths.booking", BOOKING_TITLES)``), so that pages, PDFs,
exports and history timelines all show the same translated title — in the reader's language
at render time, never the language of whoever wrote the row. Templates use the filter:
``{{ b.status|code_title("booths.booking") }}``."""
from __future__ import annotations

from collections.abc import Mapping

_SETS: dict[str, Mapping] = {}


def register(name: str, mapping: Mapping) -> Mapping:
    """Make ``mapping`` (code → lazy title) the titles of the code set ``name``."""
    _SETS[name] = mapping
    return mapping


def titles(name: str) -> Mapping:
    return _SETS.get(name, {})


def code_title(code, name: str) -> str:
    """The translated title of ``code`` in the code set ``name``; an unknown code (or an empty
    one) comes back as it is, so a page never fails on data it does not know yet."""
    if code is None or code == "":
        return ""
    title = _SETS.get(name, {}).get(code)
    return str(title) if title is not None else str(code)


def extend(name: str, mapping: Mapping) -> Mapping:
    """Add a plugin's codes to a shared code set (the audit log's actions and objects)."""
    merged = dict(_SETS.get(name, {}))
    merged.update(mapping)
    _SETS[name] = merged
    return mapping
