"""one index for first entries and a registration's scans

first_entry becomes TRUE or NULL (never FALSE), so one full unique index over
(registration_id, day, first_entry) both enforces one first entry per person and day (NULLs
are distinct) and serves a registration's scans; ix_onsite_scan_registration_id and the
partial index go. The per-day index gains the gate, for the desk's counter.

Revision ID: f435b620a9d1
Revises: 808cebdb8d8c
Create Date: 2026-11-23 16:37:30.315091
"""
import sqlalchemy as sa
from alembic import op

revision = 'f435b620a9d1'
down_revision = '808cebdb8d8c'
branch_labels = None
depends_on = None

NEW_CHECK = ("first_entry IS NULL OR (first_entry AND result = 'ok' AND direction = 'in' "
             "AND registration_id IS NOT NULL)")
OLD_CHECK = "NOT first_entry OR (result = 'ok' AND direction = 'in' AND registration_id IS NOT NULL)"


def upgrade():
    with op.batch_alter_table('onsite_scan', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_onsite_scan_first_entry_is_admission'), type_='check')
        batch_op.alter_column('first_entry', existing_type=sa.BOOLEAN(), nullable=True)
        batch_op.drop_index(batch_op.f('ix_onsite_scan_registration_id'))
        batch_op.drop_index(batch_op.f('ix_onsite_scan_show_day'))
        batch_op.drop_index(batch_op.f('uq_onsite_scan_first_entry'), sqlite_where=sa.text('first_entry'),
                            postgresql_where=sa.text('first_entry'))
    op.execute(sa.text("UPDATE onsite_scan SET first_entry = NULL WHERE NOT first_entry"))
    with op.batch_alter_table('onsite_scan', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_onsite_scan_first_entry_is_admission'), NEW_CHECK)
        batch_op.create_index('uq_onsite_scan_first_entry', ['registration_id', 'day', 'first_entry'], unique=True)
        batch_op.create_index('ix_onsite_scan_show_day_gate', ['show_id', 'day', 'gate'], unique=False)


def downgrade():
    with op.batch_alter_table('onsite_scan', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_onsite_scan_first_entry_is_admission'), type_='check')
        batch_op.drop_index('ix_onsite_scan_show_day_gate')
        batch_op.drop_index('uq_onsite_scan_first_entry')
    op.execute(sa.text("UPDATE onsite_scan SET first_entry = false WHERE first_entry IS NULL"))
    with op.batch_alter_table('onsite_scan', schema=None) as batch_op:
        batch_op.alter_column('first_entry', existing_type=sa.BOOLEAN(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_onsite_scan_first_entry_is_admission'), OLD_CHECK)
        batch_op.create_index(batch_op.f('uq_onsite_scan_first_entry'), ['registration_id', 'day'], unique=True,
                              sqlite_where=sa.text('first_entry'), postgresql_where=sa.text('first_entry'))
        batch_op.create_index(batch_op.f('ix_onsite_scan_show_day'), ['show_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_onsite_scan_registration_id'), ['registration_id'], unique=False)
