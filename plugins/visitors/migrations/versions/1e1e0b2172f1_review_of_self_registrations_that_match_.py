"""review of self-registrations that match a person: the public form registers what was
typed; staff merge or keep apart

Revision ID: 1e1e0b2172f1
Revises: bbefed045c09
Create Date: 2026-12-07 23:16:37.870339
"""
import sqlalchemy as sa
from alembic import op

revision = '1e1e0b2172f1'
down_revision = 'bbefed045c09'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('visitors_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('show_id', sa.Integer(), nullable=False),
    sa.Column('registration_id', sa.Integer(), nullable=False),
    sa.Column('matched_person_id', sa.Integer(), nullable=False),
    sa.Column('matched_on', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('open','merged','kept_apart')", name=op.f('ck_visitors_review_status')),
    sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_visitors_review_decided_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['matched_person_id'], ['persons.id'], name=op.f('fk_visitors_review_matched_person_id_persons'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registration_id'], ['visitors_registration.id'], name=op.f('fk_visitors_review_registration_id_visitors_registration'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['show_id'], ['shows.id'], name=op.f('fk_visitors_review_show_id_shows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visitors_review'))
    )
    with op.batch_alter_table('visitors_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visitors_review_matched_person_id'), ['matched_person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visitors_review_registration_id'), ['registration_id'], unique=False)
        batch_op.create_index('ix_visitors_review_show_status', ['show_id', 'status', 'id'], unique=False)



def downgrade():
    with op.batch_alter_table('visitors_review', schema=None) as batch_op:
        batch_op.drop_index('ix_visitors_review_show_status')
        batch_op.drop_index(batch_op.f('ix_visitors_review_registration_id'))
        batch_op.drop_index(batch_op.f('ix_visitors_review_matched_person_id'))

    op.drop_table('visitors_review')
