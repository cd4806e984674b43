"""loyalty segment index on the last computation

Revision ID: adb0b8b37353
Revises: dfc869772074
Create Date: 2026-12-08 00:05:57.312960
"""
from alembic import op

revision = 'adb0b8b37353'
down_revision = 'dfc869772074'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('loyalty_segment', schema=None) as batch_op:
        batch_op.create_index('ix_loyalty_segment_computed', ['show_id', 'computed_at'], unique=False)


def downgrade():
    with op.batch_alter_table('loyalty_segment', schema=None) as batch_op:
        batch_op.drop_index('ix_loyalty_segment_computed')
