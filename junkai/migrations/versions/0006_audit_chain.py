"""audit chain: every audit row holds the hash of the one before

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from alembic import op
import sqlalchemy as sa

from junkai.store import GENESIS, audit, audit_hash

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('hash', sa.String(length=64), nullable=True))
    head = op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('count', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    # chain the rows written before the chain existed, in their order
    # (read through the typed table, so that times come back as the chain check reads them)
    conn = op.get_bind()
    prev, count = GENESIS, 0
    # (only the columns of that time: later migrations add more)
    then = [audit.c[n] for n in ("id", "at", "operator", "action", "target_kind", "target_id", "detail")]
    for row in conn.execute(sa.select(*then).order_by(audit.c.id)).mappings().all():
        digest = audit_hash(prev, dict(row))
        conn.execute(audit.update().where(audit.c.id == row["id"]).values(prev_hash=prev, hash=digest))
        prev, count = digest, count + 1
    op.bulk_insert(head, [{"id": 1, "count": count, "hash": prev}])


def downgrade() -> None:
    op.drop_table('audit_head')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_column('hash')
        batch_op.drop_column('prev_hash')
