"""show series: a show (edition) belongs to a series; the booths setting previous_show goes

Revision ID: e4f464004a60
Revises: 6cb41394f63b
Create Date: 2026-12-07 23:03:23.062809

Existing shows get a series by this rule:

1. A show's series code is its code without the year at its end or start
   (``food-expo-2026`` and ``food-expo-2027`` → ``food-expo``; ``2027-wine`` → ``wine``); a
   code that is no valid code once the year is gone (``2027``) stays whole.
2. Shows whose setting ``booths.previous_show`` named another show (the link this table
   replaces) join that show's series, whatever their codes, so a rebooking window that worked
   before still finds the same previous edition.
3. A series is named after its newest show (highest id), with the year taken out of the
   name (``2027中国国际食品博览会`` → ``中国国际食品博览会``); a name that would be empty keeps
   the year. Two groups that would get the same code get ``-2``, ``-3`` … appended.

The ``booths.previous_show`` settings are deleted (the previous edition is derived from the
series and the dates now). Downgrading drops the series (the deleted settings do not come
back). On SQLite the column is added and dropped in place (ALTER TABLE, SQLite ≥ 3.35), never
by recreating ``shows``: with foreign keys on, dropping that table would cascade into every
table that refers to a show.
"""
import datetime as dt
import json
import re

import sqlalchemy as sa
from alembic import op

revision = 'e4f464004a60'
down_revision = '6cb41394f63b'
branch_labels = None
depends_on = None

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
YEAR_AT_END = re.compile(r"[-_]?(19|20)\d{2}$")
YEAR_AT_START = re.compile(r"^(19|20)\d{2}[-_]?")
YEAR_IN_NAME = re.compile(r"\s*(19|20)\d{2}\s*年?\s*")


def series_slug(slug: str) -> str:
    base = YEAR_AT_START.sub("", YEAR_AT_END.sub("", slug)).strip("-_")
    return base if SLUG.match(base) else slug


def series_name(name: str) -> str:
    base = YEAR_IN_NAME.sub(" ", name or "").strip(" -–·")
    return base or (name or "")


def upgrade():
    op.create_table('show_series',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('slug', sa.String(length=64), nullable=False),
                    sa.Column('name_zh', sa.String(length=200), nullable=False),
                    sa.Column('name_en', sa.String(length=200), nullable=False),
                    sa.Column('created_at', sa.DateTime(), nullable=False),
                    sa.PrimaryKeyConstraint('id', name=op.f('pk_show_series')),
                    sa.UniqueConstraint('slug', name=op.f('uq_show_series_slug')))
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE shows ADD COLUMN series_id INTEGER CONSTRAINT fk_shows_series_id_show_series "
                   "REFERENCES show_series (id)")
    else:
        op.add_column('shows', sa.Column('series_id', sa.Integer(), nullable=True))
        op.create_foreign_key(op.f('fk_shows_series_id_show_series'), 'shows', 'show_series', ['series_id'],
                              ['id'])
    op.create_index(op.f('ix_shows_series_id'), 'shows', ['series_id'], unique=False)
    _give_existing_shows_a_series()


def _give_existing_shows_a_series():
    conn = op.get_bind()
    shows = sa.table("shows", sa.column("id", sa.Integer), sa.column("slug", sa.String),
                     sa.column("name_zh", sa.String), sa.column("name_en", sa.String),
                     sa.column("series_id", sa.Integer))
    settings = sa.table("settings", sa.column("show_id", sa.Integer), sa.column("key", sa.String),
                        sa.column("value", sa.JSON))
    series = sa.table("show_series", sa.column("id", sa.Integer), sa.column("slug", sa.String),
                      sa.column("name_zh", sa.String), sa.column("name_en", sa.String),
                      sa.column("created_at", sa.DateTime))
    rows = conn.execute(sa.select(shows.c.id, shows.c.slug, shows.c.name_zh, shows.c.name_en)
                        .order_by(shows.c.id)).all()
    if rows:
        by_slug = {r.slug: r.id for r in rows}
        parent = {r.id: r.id for r in rows}

        def root(i):
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        def join(a, b):
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)

        first_of_base = {}
        for r in rows:                                   # rule 1: the code without its year
            base = series_slug(r.slug)
            if base in first_of_base:
                join(first_of_base[base], r.id)
            else:
                first_of_base[base] = r.id
        links = conn.execute(sa.select(settings.c.show_id, settings.c.value).where(
            settings.c.key == "booths.previous_show", settings.c.show_id.is_not(None))).all()
        for show_id, value in links:                     # rule 2: the old previous_show link
            named = value
            if isinstance(named, str) and named not in by_slug:
                try:
                    named = json.loads(named)
                except ValueError:
                    pass
            if isinstance(named, str) and named in by_slug and show_id in parent:
                join(show_id, by_slug[named])
        groups = {}
        for r in rows:
            groups.setdefault(root(r.id), []).append(r)
        taken = set()
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        for members in groups.values():                  # rule 3: code and name
            slug = series_slug(members[0].slug)
            code, n = slug, 1
            while code in taken:
                n += 1
                code = f"{slug[:60]}-{n}"
            taken.add(code)
            newest = members[-1]
            conn.execute(series.insert().values(slug=code, name_zh=series_name(newest.name_zh or newest.name_en),
                                                name_en=series_name(newest.name_en), created_at=now))
            series_id = conn.execute(sa.select(series.c.id).where(series.c.slug == code)).scalar_one()
            conn.execute(shows.update().where(shows.c.id.in_([m.id for m in members])).values(series_id=series_id))
    conn.execute(settings.delete().where(settings.c.key == "booths.previous_show"))


def downgrade():
    op.drop_index(op.f('ix_shows_series_id'), table_name='shows')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE shows DROP COLUMN series_id")
    else:
        op.drop_constraint(op.f('fk_shows_series_id_show_series'), 'shows', type_='foreignkey')
        op.drop_column('shows', 'series_id')
    op.drop_table('show_series')
