"""Outbox content apart from delivery state; the database writes the timeline when a message is marked sent

An outbox row is rewritten when it is claimed, sent or retried, and its content (the MIME message and the two
bodies it was built from, some 20 kB) never changes: it moves to outbox_contents, so that those writes copy a
small row. Marking a message sent now writes the cancellation's timeline (and, for the invitation, its sent time
and the 'invited' state) through a trigger, in the same statement's transaction: the worker needs one statement
per message sent instead of four.

The trigger keeps the labels of feedback.cancellations.operations.EMAIL_LABELS; a test compares them. On SQLite a
later batch migration that copies outbox_messages (batch_alter_table with anything but add_column) drops the
trigger with the old table: such a migration must create it again (tests/test_migrations.py would fail).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 09:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The event's sentence, as EMAIL_LABELS and on_message_sent wrote it before: "<label> sent to <address>."
SENT_DETAIL = """
    CASE NEW.kind
        WHEN 'survey_invitation' THEN 'Exit survey invitation'
        WHEN 'survey_reminder' THEN 'Survey reminder'
        WHEN 'review_request' THEN 'Review request'
        WHEN 'summary' THEN 'Summary'
        ELSE 'Email'
    END || ' sent to ' || NEW.recipient || '.'
"""

TIMELINE_STATEMENTS = f"""
    UPDATE invitations SET sent_at = NEW.sent_at
        WHERE NEW.kind = 'survey_invitation' AND cancellation_id = NEW.cancellation_id AND sent_at IS NULL;
    UPDATE cancellations SET state = 'invited'
        WHERE NEW.kind = 'survey_invitation' AND id = NEW.cancellation_id AND state = 'logged';
    INSERT INTO cancellation_events (cancellation_id, kind, detail, at)
        VALUES (NEW.cancellation_id, 'email_sent', {SENT_DETAIL}, NEW.sent_at);
"""

SQLITE_TRIGGER = f"""
CREATE TRIGGER outbox_message_sent AFTER UPDATE OF status ON outbox_messages FOR EACH ROW
WHEN NEW.status = 'sent' AND OLD.status IS NOT 'sent' AND NEW.cancellation_id IS NOT NULL
BEGIN
{TIMELINE_STATEMENTS}
END
"""

POSTGRESQL_FUNCTION = f"""
CREATE FUNCTION outbox_message_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{TIMELINE_STATEMENTS}
    RETURN NULL;
END
$$
"""

POSTGRESQL_TRIGGER = """
CREATE TRIGGER outbox_message_sent AFTER UPDATE OF status ON outbox_messages FOR EACH ROW
WHEN (NEW.status = 'sent' AND OLD.status IS DISTINCT FROM 'sent' AND NEW.cancellation_id IS NOT NULL)
EXECUTE FUNCTION outbox_message_sent()
"""

CONTENT_COLUMNS = ('body_text', 'body_html', 'mime')


def upgrade():
    op.create_table('outbox_contents',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('body_html', sa.Text(), nullable=False),
    sa.Column('mime', sa.LargeBinary(), nullable=True),
    sa.ForeignKeyConstraint(['message_id'], ['outbox_messages.id'], name=op.f('fk_outbox_contents_message_id_outbox_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_outbox_contents'))
    )
    op.execute(
        "INSERT INTO outbox_contents (message_id, body_text, body_html, mime) "
        "SELECT id, body_text, body_html, mime FROM outbox_messages"
    )
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+), not batch mode: copying outbox_messages on SQLite would
    # drop it, and with foreign keys on, dropping it deletes every outbox_contents row just filled.
    for column in CONTENT_COLUMNS:
        op.drop_column('outbox_messages', column)

    if op.get_bind().dialect.name == 'postgresql':
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER outbox_message_sent ON outbox_messages")
        op.execute("DROP FUNCTION outbox_message_sent()")
    else:
        op.execute("DROP TRIGGER outbox_message_sent")

    op.add_column('outbox_messages', sa.Column('body_text', sa.Text(), nullable=True))
    op.add_column('outbox_messages', sa.Column('body_html', sa.Text(), nullable=True))
    op.add_column('outbox_messages', sa.Column('mime', sa.LargeBinary(), nullable=True))
    for column in CONTENT_COLUMNS:
        op.execute(
            f"UPDATE outbox_messages SET {column} = "
            f"(SELECT {column} FROM outbox_contents WHERE message_id = outbox_messages.id)"
        )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.alter_column('body_text', existing_type=sa.Text(), nullable=False)
        batch_op.alter_column('body_html', existing_type=sa.Text(), nullable=False)
    op.drop_table('outbox_contents')
