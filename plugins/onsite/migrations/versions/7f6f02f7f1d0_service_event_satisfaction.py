"""service event satisfaction: the step that closes or reopens a request keeps the customer's
satisfaction as a number, so the history words it in the reader's language (it was a note
frozen in the language of whoever recorded it).

Revision ID: 7f6f02f7f1d0
Revises: f435b620a9d1
Create Date: 2026-12-07 23:07:31.049406
"""
import sqlalchemy as sa
from alembic import op

revision = '7f6f02f7f1d0'
down_revision = 'f435b620a9d1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('onsite_service_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('onsite_service_event', schema=None) as batch_op:
        batch_op.drop_column('satisfaction')
