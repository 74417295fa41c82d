"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('operator', sa.Text(), nullable=False),
    sa.Column('action', sa.Text(), nullable=False),
    sa.Column('target_kind', sa.Text(), nullable=False),
    sa.Column('target_id', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('station',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('officer',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('station_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_station_id'), ['station_id'], unique=False)

    op.create_table('post',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('station_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_post_station_id'), ['station_id'], unique=False)

    op.create_table('beat',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('post_id', sa.String(length=24), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['post_id'], ['post.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('beat', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beat_post_id'), ['post_id'], unique=False)

    op.create_table('assignment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.String(length=32), nullable=False),
    sa.Column('officer_id', sa.String(length=32), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('set_by', sa.Text(), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_assignment_beat_id'), ['beat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignment_officer_id'), ['officer_id'], unique=False)

    op.create_table('beat_frequency',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.String(length=32), nullable=False),
    sa.Column('months', sa.Integer(), nullable=False),
    sa.Column('effective_from', sa.Date(), nullable=False),
    sa.Column('set_by', sa.Text(), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('beat_frequency', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beat_frequency_beat_id'), ['beat_id'], unique=False)

    op.create_table('premises',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('beat_id', sa.String(length=32), nullable=False),
    sa.Column('postal_code', sa.String(length=7), nullable=False),
    sa.Column('prefecture', sa.Text(), nullable=False),
    sa.Column('city', sa.Text(), nullable=False),
    sa.Column('town', sa.Text(), nullable=False),
    sa.Column('block', sa.Text(), nullable=False),
    sa.Column('building', sa.Text(), nullable=True),
    sa.Column('room', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_since', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('premises', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_premises_beat_id'), ['beat_id'], unique=False)

    op.create_table('card',
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.Column('confirmed_on', sa.Date(), nullable=False),
    sa.Column('confirmed_source', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('premises_id')
    )
    op.create_table('card_event',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('before', sa.Text(), nullable=True),
    sa.Column('after', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('operator', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.create_index('ix_card_event_premises_version', ['premises_id', 'version'], unique=False)

    op.create_table('night_approval',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.String(length=32), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('approver', sa.Text(), nullable=False),
    sa.Column('approved_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('night_approval', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_night_approval_premises_id'), ['premises_id'], unique=False)

    op.create_table('visit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.String(length=32), nullable=False),
    sa.Column('visited_at', sa.DateTime(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('night', sa.Boolean(), nullable=False),
    sa.Column('night_approval_id', sa.Integer(), nullable=True),
    sa.Column('guidance', sa.Text(), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['night_approval_id'], ['night_approval.id'], ),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_visit_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_visit_premises_id'), ['premises_id'], unique=False)

    op.create_table('opinion',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=False),
    sa.Column('visit_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.String(length=32), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('complaint', sa.Boolean(), nullable=False),
    sa.Column('reported_to_chief_on', sa.Date(), nullable=True),
    sa.Column('reported_to_hq_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['officer_id'], ['officer.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.ForeignKeyConstraint(['visit_id'], ['visit.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_opinion_premises_id'), ['premises_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('opinion', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_opinion_premises_id'))

    op.drop_table('opinion')
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_visit_premises_id'))
        batch_op.drop_index(batch_op.f('ix_visit_officer_id'))

    op.drop_table('visit')
    with op.batch_alter_table('night_approval', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_night_approval_premises_id'))

    op.drop_table('night_approval')
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.drop_index('ix_card_event_premises_version')

    op.drop_table('card_event')
    op.drop_table('card')
    with op.batch_alter_table('premises', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_premises_beat_id'))

    op.drop_table('premises')
    with op.batch_alter_table('beat_frequency', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beat_frequency_beat_id'))

    op.drop_table('beat_frequency')
    with op.batch_alter_table('assignment', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignment_officer_id'))
        batch_op.drop_index(batch_op.f('ix_assignment_beat_id'))

    op.drop_table('assignment')
    with op.batch_alter_table('beat', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_beat_post_id'))

    op.drop_table('beat')
    with op.batch_alter_table('post', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_post_station_id'))

    op.drop_table('post')
    with op.batch_alter_table('officer', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_station_id'))

    op.drop_table('officer')
    op.drop_table('station')
    op.drop_table('audit')
