"""imported badge codes: 6 to 64 characters (a registration system's printed badges)

Revision ID: 5c0de6a4b1f2
Revises: 1e1e0b2172f1
Create Date: 2026-12-08 00:05:00

SQLite: the tables are NOT rebuilt (batch mode copies a table, then drops the old one, and
with foreign keys on, dropping visitors_registration deletes every scan, lead and code that
references it, ON DELETE CASCADE). SQLite does not enforce VARCHAR lengths, so only the CHECK
constraints change, by editing their text in sqlite_schema — the procedure SQLite documents
for changes that leave the stored data valid ("Making Other Kinds Of Table Schema Changes").
PostgreSQL: ALTER TABLE in place.
"""
import sqlalchemy as sa
from alembic import op

revision = '5c0de6a4b1f2'
down_revision = '1e1e0b2172f1'
branch_labels = None
depends_on = None


CHANGES = (  # table, column, constraint, old check, new check
    ("visitors_registration", "badge_code", "ck_visitors_registration_badge_code_length",
     "length(badge_code) = 12", "length(badge_code) BETWEEN 6 AND 64"),
    ("visitors_badge_code", "code", "ck_visitors_badge_code_length",
     "length(code) = 12", "length(code) BETWEEN 6 AND 64"),
)


def _sqlite(old_len: int, new_len: int, old_check: int, new_check: int) -> None:
    conn = op.get_bind()
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    for table, column, _name, *checks in CHANGES:
        sql = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   (table,)).scalar()
        new = sql.replace(checks[old_check], checks[new_check]).replace(
            f"{column} VARCHAR({old_len})", f"{column} VARCHAR({new_len})")
        if new == sql or checks[new_check] not in new:
            raise RuntimeError(f"{table}: the expected CHECK constraint was not found")
        conn.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = ?", (new, table))
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _postgresql(length: int, check: int) -> None:
    for table, column, name, *checks in CHANGES:
        op.drop_constraint(op.f(name), table, type_="check")
        op.alter_column(table, column, type_=sa.String(length=length), existing_nullable=False)
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} CHECK ({checks[check]})")


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite(12, 64, 0, 1)
    else:
        _postgresql(64, 1)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        _sqlite(64, 12, 1, 0)
    else:
        _postgresql(12, 0)
