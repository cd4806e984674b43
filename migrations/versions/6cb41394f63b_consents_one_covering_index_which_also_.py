"""consents: one covering index, which also serves the person key

Revision ID: 6cb41394f63b
Revises: 156ad2eceb04
Create Date: 2026-11-23 13:49:05.532549
"""
from alembic import op

revision = '6cb41394f63b'
down_revision = '156ad2eceb04'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consents_person_id'))
        batch_op.drop_index(batch_op.f('ix_consents_person_purpose'))
        batch_op.create_index('ix_consents_person_purpose', ['person_id', 'purpose', 'id', 'granted'], unique=False)



def downgrade():
    with op.batch_alter_table('consents', schema=None) as batch_op:
        batch_op.drop_index('ix_consents_person_purpose')
        batch_op.create_index(batch_op.f('ix_consents_person_purpose'), ['person_id', 'purpose', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_consents_person_id'), ['person_id'], unique=False)

