"""list indexes: keyset pages of a show by id, and counts by index ranges alone

Revision ID: bbefed045c09
Revises: eb943207fe90
Create Date: 2026-11-23 12:16:24.488477
"""
from alembic import op

revision = 'bbefed045c09'
down_revision = 'eb943207fe90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('visitors_registration', schema=None) as batch_op:
        batch_op.create_index('ix_visitors_registration_show_counts', ['show_id', 'category', 'cancelled_at', 'verification'], unique=False)
        batch_op.create_index('ix_visitors_registration_show_id', ['show_id', 'id'], unique=False)
        batch_op.drop_index('ix_visitors_registration_person_id')
        batch_op.create_index('ix_visitors_registration_person_show', ['person_id', 'show_id', 'category',
                                                                       'verification'], unique=False)


def downgrade():
    with op.batch_alter_table('visitors_registration', schema=None) as batch_op:
        batch_op.drop_index('ix_visitors_registration_show_id')
        batch_op.drop_index('ix_visitors_registration_person_show')
        batch_op.create_index('ix_visitors_registration_person_id', ['person_id'], unique=False)
        batch_op.drop_index('ix_visitors_registration_show_counts')
