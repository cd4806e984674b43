from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class Setting(db.Model):
    """A setting: global (show_id NULL) or per show. Keys are '<plugin>.<name>'; defaults
    come from each plugin's ``default_settings``, so only changed values are stored."""
    __tablename__ = "settings"
    __table_args__ = (
        Index("uq_settings_show_key", "show_id", "key", unique=True),
        # NULL show_id is not equal to itself in a unique index: a partial index keeps one
        # global value per key.
        Index("uq_settings_global_key", "key", unique=True,
              sqlite_where=text("show_id IS NULL"), postgresql_where=text("show_id IS NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    show_id: Mapped[int | None] = mapped_column(ForeignKey("shows.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    value: Mapped[Any] = mapped_column(JSON)


def setting_specs() -> dict[str, Any]:
    """Every known setting key with its SettingSpec, from the loaded plugins'
    default_settings (keys are '<plugin>.<name>'), in plugin order."""
    from flask import current_app

    from ..settings import spec_of
    found: dict[str, Any] = {}
    for plugin in current_app.extensions["crm_expo_plugins"].values():
        for name, value in plugin.default_settings.items():
            key = name if name.startswith(f"{plugin.name}.") else f"{plugin.name}.{name}"
            found[key] = spec_of(key, value)
    return found


def setting_defaults() -> dict[str, Any]:
    """Every known setting key with its default."""
    return {key: spec.default for key, spec in setting_specs().items()}


def get_setting(key: str, show=None) -> Any:
    """The one accessor: the show's value, else the global value, else the plugin's default.
    ``show`` is a Show, a show id or None (the global value)."""
    from sqlalchemy import select
    show_id = getattr(show, "id", show)
    rows = db.session.execute(
        select(Setting.show_id, Setting.value).where(Setting.key == key,
                                                     (Setting.show_id == show_id) | Setting.show_id.is_(None))
    ).all()
    by_scope = {sid: value for sid, value in rows}
    if show_id is not None and show_id in by_scope:
        return by_scope[show_id]
    if None in by_scope:
        return by_scope[None]
    defaults = setting_defaults()
    if key not in defaults:
        raise KeyError(f"unknown setting {key!r}")
    return defaults[key]


def set_setting(key: str, value: Any, show=None, user=None, check_related: bool = True) -> None:
    """Store a value (global when show is None), audited, in the caller's transaction.
    A value that breaks a setting's ``above`` order is refused; ``check_related=False``
    when the caller checked the whole set of new values itself (``settings.check_order``)."""
    from sqlalchemy import select

    from .audit import audit
    specs = setting_specs()
    if key not in specs:
        raise KeyError(f"unknown setting {key!r}")
    value = specs[key].check(key, value)       # SettingError (a ValueError) naming the setting
    related = [k for k, spec in specs.items() if spec.above == key or (k == key and spec.above)]
    if related and check_related:
        from ..settings import check_order
        names = {key} | set(related) | {specs[k].above for k in related}
        check_order(specs, {k: (value if k == key else get_setting(k, show)) for k in names}, key)
    show_id = getattr(show, "id", show)
    row = db.session.scalar(select(Setting).where(
        Setting.key == key, Setting.show_id == show_id if show_id is not None else Setting.show_id.is_(None)))
    before = row.value if row else None
    if row is None:
        row = Setting(key=key, show_id=show_id, value=value)
        db.session.add(row)
    else:
        row.value = value
    audit("setting.set", row, user=user, show_id=show_id, object_id=key, before={"value": before},
          after={"value": value})
