"""review queue

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('review_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('page_id', sa.Text(), nullable=False),
    sa.Column('print_id', sa.Text(), nullable=True),
    sa.Column('premises_id', sa.Integer(), nullable=True),
    sa.Column('topic', sa.String(length=16), nullable=False),
    sa.Column('field', sa.Text(), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('guess', sa.Text(), nullable=True),
    sa.Column('confidence', sa.Float(), nullable=True),
    sa.Column('crop', sa.Text(), nullable=True),
    sa.Column('rules', sa.Text(), nullable=False),
    sa.Column('printed', sa.Text(), nullable=True),
    sa.Column('candidates', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Text(), nullable=True),
    sa.Column('decided_at', sa.DateTime(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_item_premises_id'), ['premises_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_item_status'), ['status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_item_status'))
        batch_op.drop_index(batch_op.f('ix_review_item_premises_id'))

    op.drop_table('review_item')
