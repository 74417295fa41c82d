"""covering indexes for the lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.create_index('ix_card_event_premises_path_at', ['premises_id', 'path', 'at'], unique=False)

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.create_index('ix_visit_premises_outcome_at', ['premises_id', 'outcome', 'visited_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_premises_outcome_at')

    with op.batch_alter_table('card_event', schema=None) as batch_op:
        batch_op.drop_index('ix_card_event_premises_path_at')

