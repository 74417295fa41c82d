"""scans and pages

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('scan_file',
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('stored', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('operator', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('sha256')
    )
    op.create_table('scan_page',
    sa.Column('id', sa.String(length=80), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('page', sa.Integer(), nullable=False),
    sa.Column('read_status', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('print_id', sa.String(length=16), nullable=True),
    sa.Column('sheet', sa.Integer(), nullable=True),
    sa.Column('premises_id', sa.Integer(), nullable=True),
    sa.Column('result', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['file_sha256'], ['scan_file.sha256'], ),
    sa.ForeignKeyConstraint(['premises_id'], ['premises.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('scan_page', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_page_file_sha256'), ['file_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_scan_page_premises_id'), ['premises_id'], unique=False)
        batch_op.create_index('ux_scan_page_claimed_sheet', ['print_id', 'sheet'], unique=True, sqlite_where=sa.text("state IN ('applied', 'waiting')"), postgresql_where=sa.text("state IN ('applied', 'waiting')"))

    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applied_at', sa.DateTime(), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('review_item', schema=None) as batch_op:
        batch_op.drop_column('applied_at')

    with op.batch_alter_table('scan_page', schema=None) as batch_op:
        batch_op.drop_index('ux_scan_page_claimed_sheet', sqlite_where=sa.text("state IN ('applied', 'waiting')"), postgresql_where=sa.text("state IN ('applied', 'waiting')"))
        batch_op.drop_index(batch_op.f('ix_scan_page_premises_id'))
        batch_op.drop_index(batch_op.f('ix_scan_page_file_sha256'))

    op.drop_table('scan_page')
    op.drop_table('scan_file')
