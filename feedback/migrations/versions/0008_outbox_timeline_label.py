"""outbox_messages.timeline_label: the sent trigger reads each message's label instead of its own copy

Until now the trigger that writes "<label> sent to <address>." (0006) kept its own table of labels, a second copy
of the Python one. Each message now carries its label, written when it is queued from
feedback.postmortem.timeline.EMAIL_LABELS, the only copy; the trigger reads NEW.timeline_label. Messages queued
before this migration get their label here, from the labels 0006 knew.

On SQLite a later batch migration of outbox_messages (which copies the table) must create the trigger again.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 21:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

LABELS_0006 = {
    'survey_invitation': 'Exit survey invitation',
    'survey_reminder': 'Survey reminder',
    'review_request': 'Review request',
    'summary': 'Summary',
}


def _timeline_statements(detail: str) -> str:
    return f"""
    UPDATE invitations SET sent_at = NEW.sent_at
        WHERE NEW.kind = 'survey_invitation' AND cancellation_id = NEW.cancellation_id AND sent_at IS NULL;
    UPDATE cancellations SET state = 'invited'
        WHERE NEW.kind = 'survey_invitation' AND id = NEW.cancellation_id AND state = 'logged';
    INSERT INTO cancellation_events (cancellation_id, kind, detail, at)
        VALUES (NEW.cancellation_id, 'email_sent', {detail}, NEW.sent_at);
"""


LABELLED = "COALESCE(NEW.timeline_label, 'Email') || ' sent to ' || NEW.recipient || '.'"
BY_KIND = (
    "CASE NEW.kind "
    + " ".join(f"WHEN '{kind}' THEN '{label}'" for kind, label in LABELS_0006.items())
    + " ELSE 'Email' END || ' sent to ' || NEW.recipient || '.'"
)

SQLITE_TRIGGER = """
CREATE TRIGGER outbox_message_sent AFTER UPDATE OF status ON outbox_messages FOR EACH ROW
WHEN NEW.status = 'sent' AND OLD.status IS NOT 'sent' AND NEW.cancellation_id IS NOT NULL
BEGIN
{statements}
END
"""

POSTGRESQL_FUNCTION = """
CREATE OR REPLACE FUNCTION outbox_message_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{statements}
    RETURN NULL;
END
$$
"""


def _replace_trigger(detail: str) -> None:
    statements = _timeline_statements(detail)
    if op.get_bind().dialect.name == 'postgresql':
        # The trigger calls the function by name: replacing the function is enough.
        op.execute(POSTGRESQL_FUNCTION.format(statements=statements))
    else:
        op.execute("DROP TRIGGER outbox_message_sent")
        op.execute(SQLITE_TRIGGER.format(statements=statements))


def upgrade():
    # Plain ADD COLUMN, not batch mode: copying outbox_messages on SQLite would drop its trigger and content rows.
    op.add_column('outbox_messages', sa.Column('timeline_label', sa.String(length=80), nullable=True))
    for kind, label in LABELS_0006.items():
        op.execute(
            sa.text("UPDATE outbox_messages SET timeline_label = :label WHERE kind = :kind").bindparams(
                label=label, kind=kind
            )
        )
    op.execute("UPDATE outbox_messages SET timeline_label = 'Email' WHERE timeline_label IS NULL")
    _replace_trigger(LABELLED)


def downgrade():
    _replace_trigger(BY_KIND)
    op.drop_column('outbox_messages', 'timeline_label')
