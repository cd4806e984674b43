"""one first print per badge

Revision ID: 808cebdb8d8c
Revises: ecc0f1ecebef
Create Date: 2026-11-23 12:35:33.244756
"""
import sqlalchemy as sa
from alembic import op

revision = '808cebdb8d8c'
down_revision = 'ecc0f1ecebef'
branch_labels = None
depends_on = None


def upgrade():
    # Two desks may have printed a first badge twice before this rule: keep the earliest as
    # the first print and mark the others as reprints, saying why.
    op.execute(sa.text(
        "UPDATE onsite_badge_print SET reprint = true, reason = 'second first print (before migration 808cebdb8d8c)' "
        "WHERE NOT reprint AND id NOT IN (SELECT min(id) FROM onsite_badge_print WHERE NOT reprint "
        "GROUP BY registration_id)"))
    with op.batch_alter_table('onsite_badge_print', schema=None) as batch_op:
        batch_op.create_index('uq_onsite_badge_print_first', ['registration_id'], unique=True, sqlite_where=sa.text('NOT reprint'), postgresql_where=sa.text('NOT reprint'))



def downgrade():
    with op.batch_alter_table('onsite_badge_print', schema=None) as batch_op:
        batch_op.drop_index('uq_onsite_badge_print_first', sqlite_where=sa.text('NOT reprint'), postgresql_where=sa.text('NOT reprint'))

