"""Follow-through: action items with their reminders and digests, win-back consent and notices, referrals followed
up, and the company's currency

Every review's free-text "What must change?" answer (key action_items) becomes action items, one per non-empty line,
owned by the postmortem's owner, with no due date, so nothing typed is lost. The answer itself stays in the review,
as it was submitted; downgrading drops the items (the text they came from is still there).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 21:10:00

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

#: Longer lines are cut here (the column's length), with an ellipsis.
TITLE_MAX = 300


def upgrade():
    op.create_table(
        'action_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cancellation_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=300), nullable=False),
        sa.Column('owner_id', sa.Integer(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('ticket_url', sa.String(length=500), nullable=True),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done', 'not_doing')", name=op.f('ck_action_items_status_known')),
        sa.CheckConstraint("(status = 'open') = (closed_at IS NULL)", name=op.f('ck_action_items_closed_when_not_open')),
        sa.CheckConstraint(
            "ticket_url IS NULL OR ticket_url LIKE 'https://%'", name=op.f('ck_action_items_ticket_is_https')
        ),
        sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_action_items_cancellation_id_cancellations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_action_items_owner_id_users')),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_action_items_created_by_id_users')),
        sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_action_items_closed_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_action_items')),
    )
    op.create_index(op.f('ix_action_items_cancellation_id'), 'action_items', ['cancellation_id'])
    op.create_index(op.f('ix_action_items_owner_id'), 'action_items', ['owner_id'])
    op.create_index('ix_action_items_status_due_on', 'action_items', ['status', 'due_on'])

    op.create_table(
        'action_reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('action_item_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('due_soon', 'overdue')", name=op.f('ck_action_reminders_kind_known')),
        sa.ForeignKeyConstraint(['action_item_id'], ['action_items.id'], name=op.f('fk_action_reminders_action_item_id_action_items'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_action_reminders_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_action_reminders')),
        sa.UniqueConstraint('action_item_id', 'kind', 'due_on', name='uq_action_reminders_once'),
    )
    op.create_table(
        'action_digests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('week_of', sa.Date(), nullable=False),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_action_digests_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_action_digests_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_action_digests')),
        sa.UniqueConstraint('user_id', 'week_of', name='uq_action_digests_once'),
    )
    op.create_table(
        'winback_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cancellation_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('wording_version', sa.Integer(), nullable=False),
        sa.Column('locale', sa.String(length=16), nullable=False),
        sa.Column('given_at', sa.DateTime(), nullable=False),
        sa.Column('withdrawn_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_winback_consents_cancellation_id_cancellations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_winback_consents')),
        sa.UniqueConstraint('cancellation_id', name=op.f('uq_winback_consents_cancellation_id')),
    )
    op.create_index(op.f('ix_winback_consents_email'), 'winback_consents', ['email'])
    op.create_table(
        'winback_notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cancellation_id', sa.Integer(), nullable=False),
        sa.Column('action_item_id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('decision', sa.String(length=16), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('outbox_message_id', sa.Integer(), nullable=True),
        sa.Column('decided_by_id', sa.Integer(), nullable=False),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("decision IN ('sent', 'skipped')", name=op.f('ck_winback_notices_decision_known')),
        sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_winback_notices_cancellation_id_cancellations'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['action_item_id'], ['action_items.id'], name=op.f('fk_winback_notices_action_item_id_action_items'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_winback_notices_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['decided_by_id'], ['users.id'], name=op.f('fk_winback_notices_decided_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_winback_notices')),
        sa.UniqueConstraint('email', 'action_item_id', name='uq_winback_notices_once'),
    )
    op.create_index(op.f('ix_winback_notices_cancellation_id'), 'winback_notices', ['cancellation_id'])
    op.create_table(
        'referral_contacts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_response_id', sa.Integer(), nullable=False),
        sa.Column('contacted_by_id', sa.Integer(), nullable=False),
        sa.Column('contacted_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['survey_response_id'], ['survey_responses.id'], name=op.f('fk_referral_contacts_survey_response_id_survey_responses'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contacted_by_id'], ['users.id'], name=op.f('fk_referral_contacts_contacted_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_referral_contacts')),
        sa.UniqueConstraint('survey_response_id', name=op.f('uq_referral_contacts_survey_response_id')),
    )
    # Plain ADD COLUMN: nothing to copy on SQLite.
    op.add_column('site_settings', sa.Column('currency', sa.String(length=3), nullable=True))
    carry_over_free_text_items()


def carry_over_free_text_items():
    """Each non-empty line of a review's "What must change?" becomes an open item of the postmortem's owner."""
    connection = op.get_bind()
    reviews = connection.execute(
        sa.text(
            "SELECT reviews.cancellation_id, reviews.answers, reviews.submitted_at, cancellations.owner_id "
            "FROM reviews JOIN cancellations ON cancellations.id = reviews.cancellation_id ORDER BY reviews.id"
        )
    ).all()
    insert = sa.text(
        "INSERT INTO action_items (cancellation_id, title, owner_id, due_on, status, note, ticket_url, reason, "
        "source, created_at, created_by_id, closed_at, closed_by_id) VALUES (:cancellation_id, :title, :owner_id, "
        "NULL, 'open', '', NULL, '', 'migration', :created_at, NULL, NULL, NULL)"
    )
    for cancellation_id, answers, submitted_at, owner_id in reviews:
        if isinstance(answers, str):  # SQLite hands JSON back as text
            answers = json.loads(answers)
        text = (answers or {}).get('action_items')
        if not isinstance(text, str):
            continue
        for line in text.splitlines():
            title = line.strip().lstrip('-*•').strip()
            if not title:
                continue
            if len(title) > TITLE_MAX:
                title = title[: TITLE_MAX - 1] + '…'
            connection.execute(
                insert,
                {'cancellation_id': cancellation_id, 'title': title, 'owner_id': owner_id, 'created_at': submitted_at},
            )


def downgrade():
    op.drop_column('site_settings', 'currency')
    op.drop_table('referral_contacts')
    op.drop_index(op.f('ix_winback_notices_cancellation_id'), table_name='winback_notices')
    op.drop_table('winback_notices')
    op.drop_index(op.f('ix_winback_consents_email'), table_name='winback_consents')
    op.drop_table('winback_consents')
    op.drop_table('action_digests')
    op.drop_table('action_reminders')
    op.drop_index('ix_action_items_status_due_on', table_name='action_items')
    op.drop_index(op.f('ix_action_items_owner_id'), table_name='action_items')
    op.drop_index(op.f('ix_action_items_cancellation_id'), table_name='action_items')
    op.drop_table('action_items')
