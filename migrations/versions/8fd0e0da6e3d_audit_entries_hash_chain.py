"""audit entries hash chain: money entries (bookings, prices, payments, discounts, erasures)
hold the hash of the entry before theirs. Entries written before this revision stay outside
the chain (NULL), which starts at the first money entry written after it.

Revision ID: 8fd0e0da6e3d
Revises: e4f464004a60
Create Date: 2026-12-07 23:35:12.254046
"""
import sqlalchemy as sa
from alembic import op

revision = '8fd0e0da6e3d'
down_revision = 'e4f464004a60'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))
        batch_op.create_index('uq_audit_entries_prev_hash', ['prev_hash'], unique=True, sqlite_where=sa.text('prev_hash IS NOT NULL'), postgresql_where=sa.text('prev_hash IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('uq_audit_entries_prev_hash', sqlite_where=sa.text('prev_hash IS NOT NULL'), postgresql_where=sa.text('prev_hash IS NOT NULL'))
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
