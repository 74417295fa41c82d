"""print batches: every printed card, with the card version it was printed from

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('print_batch',
    sa.Column('id', sa.String(length=24), nullable=False),
    sa.Column('printed_at', sa.DateTime(), nullable=False),
    sa.Column('operator', sa.Text(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('cards', sa.Integer(), nullable=False),
    sa.Column('sheets', sa.Integer(), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('printed_card',
    sa.Column('print_id', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.String(length=24), nullable=False),
    sa.Column('premises_id', sa.Integer(), nullable=True),
    sa.Column('card_version', sa.Integer(), nullable=False),
    sa.Column('beat_id', sa.String(length=32), nullable=False),
    sa.Column('form_type', sa.String(length=16), nullable=False),
    sa.Column('form_version', sa.Integer(), nullable=False),
    sa.Column('sheets', sa.Integer(), nullable=False),
    sa.Column('rows', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['print_batch.id'], ),
    sa.ForeignKeyConstraint(['beat_id'], ['beat.id'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('print_id')
    )
    with op.batch_alter_table('printed_card', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_printed_card_batch_id'), ['batch_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_printed_card_premises_id'), ['premises_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('printed_card', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_printed_card_premises_id'))
        batch_op.drop_index(batch_op.f('ix_printed_card_batch_id'))
    op.drop_table('printed_card')
    op.drop_table('print_batch')
