"""list indexes: keyset pages by application date and by country

Revision ID: 4cae7a6afa80
Revises: 29ec73f4ac92
Create Date: 2026-11-23 12:23:07.038061
"""
from alembic import op

revision = '4cae7a6afa80'
down_revision = '29ec73f4ac92'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('exhibitors_exhibitor', schema=None) as batch_op:
        batch_op.create_index('ix_exhibitors_exhibitor_show_applied', ['show_id', 'applied_at', 'id'], unique=False)
        batch_op.create_index('ix_exhibitors_exhibitor_show_country', ['show_id', 'country'], unique=False)


def downgrade():
    with op.batch_alter_table('exhibitors_exhibitor', schema=None) as batch_op:
        batch_op.drop_index('ix_exhibitors_exhibitor_show_country')
        batch_op.drop_index('ix_exhibitors_exhibitor_show_applied')
