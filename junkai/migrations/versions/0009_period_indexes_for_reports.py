"""period indexes for the reports

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.create_index('ix_card_event_at_path_premises', ['at', 'path', 'premises_id'], unique=False)

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_at_outcome_premises', ['visited_at', 'outcome', 'premises_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_at_outcome_premises')

    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.drop_index('ix_card_event_at_path_premises')
