"""inbound verdicts and CSV duplicates: the receiving server's verdict on each message, replies held for the owner,
and the rows of an import that repeat an earlier one

Revision ID: 0025_inbound_verdicts
Revises: 0019_events
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0025_inbound_verdicts'
down_revision = '0019_events'
branch_labels = None
depends_on = None


BEFORE = "status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'unreadable', 'discarded')"
AFTER = (
    "status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'unreadable', 'held', "
    "'discarded')"
)


def _inbound_messages(change):
    """Changes inbound_messages. SQLite copies the table to do it, and dropping the old copy cascades into
    customer_replies (foreign keys are on, and a migration's transaction cannot turn them off): they are kept
    aside meanwhile and put back (as in 0017)."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE customer_replies_kept AS SELECT * FROM customer_replies")
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        change(batch_op)
    if sqlite:
        op.execute(
            "INSERT INTO customer_replies SELECT * FROM customer_replies_kept "
            "WHERE id NOT IN (SELECT id FROM customer_replies)"
        )
        op.execute("DROP TABLE customer_replies_kept")


def upgrade():
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicates', sa.JSON(), nullable=False, server_default='[]'))

    def change(batch_op):
        batch_op.add_column(sa.Column('mailgun_auth', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('verdict', sa.JSON(), nullable=True))
        batch_op.drop_constraint(batch_op.f('ck_inbound_messages_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_inbound_messages_status_known'), AFTER)

    _inbound_messages(change)


def downgrade():
    op.execute("UPDATE inbound_messages SET status = 'unmatched' WHERE status = 'held'")

    def change(batch_op):
        batch_op.drop_constraint(batch_op.f('ck_inbound_messages_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_inbound_messages_status_known'), BEFORE)
        batch_op.drop_column('verdict')
        batch_op.drop_column('mailgun_auth')

    _inbound_messages(change)
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_column('duplicates')
