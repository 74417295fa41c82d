"""identity: users bound to OS accounts, audit rows with OS account and host, a keyed and append-only audit log

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# the audit rows are never changed or removed: the database refuses it, for every role that has not
# switched the trigger off (which needs the table's owner, not the service role the tool runs as)
PG_FUNCTION = """
CREATE FUNCTION junkai_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows are append-only (監査ログの行は変更・削除できません)';
END $$"""


def upgrade() -> None:
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.add_column(sa.Column('os_account', sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f('ix_user_account_os_account'), ['os_account'], unique=False)
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('os_account', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('host', sa.Text(), nullable=True))
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.add_column(sa.Column('keyed_from', sa.BigInteger(), nullable=True))
    # the rows written so far keep their plain chain; every later one is keyed
    op.execute("UPDATE audit_head SET keyed_from = (SELECT coalesce(max(id), 0) + 1 FROM audit)")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute("CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
                   "FOR EACH ROW EXECUTE FUNCTION junkai_audit_append_only()")
        op.execute("CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit "
                   "FOR EACH STATEMENT EXECUTE FUNCTION junkai_audit_append_only()")
    else:
        for event in ("UPDATE", "DELETE"):
            op.execute(f"CREATE TRIGGER audit_no_{event.lower()} BEFORE {event} ON audit BEGIN "
                       "SELECT RAISE(ABORT, 'audit rows are append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_no_truncate ON audit")
        op.execute("DROP TRIGGER audit_append_only ON audit")
        op.execute("DROP FUNCTION junkai_audit_append_only()")
    else:
        op.execute("DROP TRIGGER audit_no_update")
        op.execute("DROP TRIGGER audit_no_delete")
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('keyed_from')
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_column('host')
        batch_op.drop_column('os_account')
    with op.batch_alter_table('user_account', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_account_os_account'))
        batch_op.drop_column('os_account')
