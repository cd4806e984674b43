"""Plugins that add sections to pages they do not own, through page hooks only."""
from markupsafe import Markup, escape

from crm_expo.plugins import Plugin


def _late_section(org):
    return Markup('<section class="from-late">late for {}</section>').format(org.name_zh)


def _early_section(org):
    return Markup(f'<section class="from-early">early for {escape(org.name_zh)}</section>')


def _broken_section(org):
    raise RuntimeError("this section is broken")


def _absent_section(org):
    raise AssertionError("a plugin that is not loaded must not run")


# Declared first but with a later priority: its piece comes second.
late = Plugin(name="late", title="Late", hooks={"organization.sections": (_late_section, 60),
                                                 "customer.history": lambda organization: [{"kind": "late"}]})
early = Plugin(name="early", title="Early", hooks={"organization.sections": (_early_section, 10)})
broken = Plugin(name="broken_section", title="Broken", hooks={"organization.sections": _broken_section})
absent = Plugin(name="absent", title="Absent", hooks={"organization.sections": _absent_section})
unknown_hook = Plugin(name="unknown_hook", title="Unknown", hooks={"no.such.page": _early_section})
