"""nightly runs

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('nightly_run',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.String(length=16), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('operator', sa.Text(), nullable=False),
    sa.Column('flow_run', sa.String(length=64), nullable=True),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['station_id'], ['station.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('nightly_run', schema=None) as batch_op:
        batch_op.create_index('ix_nightly_run_station_as_of', ['station_id', 'as_of'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('nightly_run', schema=None) as batch_op:
        batch_op.drop_index('ix_nightly_run_station_as_of')

    op.drop_table('nightly_run')
