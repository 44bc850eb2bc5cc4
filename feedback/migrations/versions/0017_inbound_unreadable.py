"""inbound unreadable: a message shaped so that reading it would take unbounded time or stack is kept raw, unread

Revision ID: 0017_inbound_unreadable
Revises: 0016_digest_job_names
Create Date: 2026-12-07 03:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017_inbound_unreadable'
down_revision = '0016_digest_job_names'
branch_labels = None
depends_on = None

BEFORE = "status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'discarded')"
AFTER = "status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'unreadable', 'discarded')"


def _status_check(allowed):
    """Replaces the status check. SQLite copies the table to do it, and dropping the old copy cascades into
    customer_replies (foreign keys are on, and a migration's transaction cannot turn them off): they are kept
    aside meanwhile and put back."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        op.execute("CREATE TEMP TABLE customer_replies_kept AS SELECT * FROM customer_replies")
    with op.batch_alter_table('inbound_messages', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_inbound_messages_status_known'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_inbound_messages_status_known'), allowed)
    if sqlite:
        op.execute(
            "INSERT INTO customer_replies SELECT * FROM customer_replies_kept "
            "WHERE id NOT IN (SELECT id FROM customer_replies)"
        )
        op.execute("DROP TABLE customer_replies_kept")


def upgrade():
    _status_check(AFTER)


def downgrade():
    op.execute(
        "UPDATE inbound_messages SET status = 'failed', note = 'Unreadable: ' || note WHERE status = 'unreadable'"
    )
    _status_check(BEFORE)
