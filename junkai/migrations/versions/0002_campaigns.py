"""campaigns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('campaign',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('until', sa.Date(), nullable=False),
    sa.Column('ordered_by', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('campaign_area',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.String(length=32), nullable=True),
    sa.Column('town', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], ),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaign.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('campaign_area', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_area_campaign_id'), ['campaign_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('campaign_area', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_campaign_area_campaign_id'))

    op.drop_table('campaign_area')
    op.drop_table('campaign')
