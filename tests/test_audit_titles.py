"""Every audit action the code writes has a title a reader sees on the audit page (in zh and
en), so a new action cannot reach the page as its raw code."""
from __future__ import annotations

import pathlib
import re

from crm_expo.titles import titles

ROOT = pathlib.Path(__file__).resolve().parent.parent
ACTION = re.compile(r"""\baudit\(\s*["']([a-z_]+(?:\.[a-z_]+)+|[a-z_]+)["']""")


def _actions_in_code() -> set[str]:
    found = set()
    for folder in ("crm_expo", "plugins"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" not in path.parts and "migrations" not in path.parts:
                found |= set(ACTION.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_audit_action_written_has_a_title(app):
    actions = _actions_in_code()
    assert len(actions) > 40          # the scan finds the calls
    assert sorted(actions - set(titles("audit.action"))) == []
