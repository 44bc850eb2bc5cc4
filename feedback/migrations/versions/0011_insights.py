"""insights: the survey funnel's opened step, the filters' indexes, the weekly digest, the owner's reason

- invitations.opened_at: when the customer first opened the survey (invited, opened, answered).
- Two indexes for the insights page's narrow filters: (owner_id, cancelled_at) and (plan, cancelled_at).
- digest_preferences (who wants the weekly digest) and digests_sent, whose unique (user_id, week_start) makes
  "once per week per person" the database's guarantee.
- Data: a database whose internal review is already published gets a new version of it, the live one's
  questions plus "In your view, what was the main reason?" (owner_reason, the exit survey's main_reason choices)
  before icp_fit. A database with no review yet needs nothing: the defaults carry the question into version 1.
  Downgrading removes that version only if no review answered it.

Written against 0008; chained after 0010 (follow-through) when merged.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 21:00:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

#: The exit survey's main_reason choices when this migration was written (feedback.questions.defaults).
MAIN_REASONS = [
    "It was too expensive for us",
    "It was missing something we needed",
    "It was hard to set up or use",
    "We moved to another product",
    "We weren't using it enough",
    "Something kept breaking",
    "Support didn't work out for us",
    "Our business or needs changed",
    "Something else",
]
OWNER_REASON = {
    'key': 'owner_reason',
    'type': 'single_choice',
    'prompt': 'In your view, what was the main reason?',
    'help': 'The same choices the customer had, so the insights page can show where you agree.',
    'required': False,
    'choices': MAIN_REASONS,
    'show_if': None,
    'translations': None,
}

versions = sa.table(
    'questionnaire_versions',
    sa.column('id', sa.Integer), sa.column('questionnaire', sa.String), sa.column('number', sa.Integer),
    sa.column('published_at', sa.DateTime), sa.column('published_by_id', sa.Integer),
)
questions = sa.table(
    'questions',
    sa.column('id', sa.Integer), sa.column('version_id', sa.Integer), sa.column('position', sa.Integer),
    sa.column('key', sa.String), sa.column('type', sa.String), sa.column('prompt', sa.Text),
    sa.column('help', sa.Text), sa.column('required', sa.Boolean), sa.column('choices', sa.JSON),
    sa.column('show_if', sa.JSON), sa.column('translations', sa.JSON),
)
FIELDS = ('key', 'type', 'prompt', 'help', 'required', 'choices', 'show_if', 'translations')


def upgrade():
    op.add_column('invitations', sa.Column('opened_at', sa.DateTime(), nullable=True))
    op.create_index('ix_cancellations_owner_cancelled', 'cancellations', ['owner_id', 'cancelled_at'], unique=False)
    op.create_index('ix_cancellations_plan_cancelled', 'cancellations', ['plan', 'cancelled_at'], unique=False)
    op.create_table('digest_preferences',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('wants_digest', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digest_preferences_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_digest_preferences'))
    )
    op.create_table('digests_sent',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_digests_sent_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_digests_sent_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests_sent')),
    sa.UniqueConstraint('user_id', 'week_start', name='uq_digests_sent_user_week')
    )
    _publish_review_with_owner_reason()


def _publish_review_with_owner_reason():
    connection = op.get_bind()
    live = connection.execute(
        sa.select(versions.c.id, versions.c.number)
        .where(versions.c.questionnaire == 'internal-review')
        .order_by(versions.c.number.desc())
        .limit(1)
    ).first()
    if live is None:
        return
    rows = connection.execute(
        sa.select(*[questions.c[name] for name in FIELDS]).where(questions.c.version_id == live.id)
        .order_by(questions.c.position)
    ).mappings().all()
    if any(row['key'] == 'owner_reason' for row in rows):
        return
    specs = [dict(row) for row in rows]
    before = next((i for i, spec in enumerate(specs) if spec['key'] == 'icp_fit'), len(specs))
    specs.insert(before, OWNER_REASON)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    connection.execute(
        versions.insert().values(questionnaire='internal-review', number=live.number + 1, published_at=now)
    )
    new_id = connection.execute(
        sa.select(versions.c.id).where(
            versions.c.questionnaire == 'internal-review', versions.c.number == live.number + 1
        )
    ).scalar_one()
    connection.execute(
        questions.insert(),
        [{**spec, 'version_id': new_id, 'position': position} for position, spec in enumerate(specs, start=1)],
    )


def downgrade():
    connection = op.get_bind()
    reviews = sa.table('reviews', sa.column('version_id', sa.Integer))
    added = connection.execute(
        sa.select(versions.c.id)
        .join(questions, questions.c.version_id == versions.c.id)
        .where(versions.c.questionnaire == 'internal-review', questions.c.key == 'owner_reason',
               versions.c.published_by_id.is_(None), ~versions.c.id.in_(sa.select(reviews.c.version_id)))
        .order_by(versions.c.number.desc())
        .limit(1)
    ).scalar()
    if added is not None:
        connection.execute(questions.delete().where(questions.c.version_id == added))
        connection.execute(versions.delete().where(versions.c.id == added))
    op.drop_table('digests_sent')
    op.drop_table('digest_preferences')
    op.drop_index('ix_cancellations_plan_cancelled', table_name='cancellations')
    op.drop_index('ix_cancellations_owner_cancelled', table_name='cancellations')
    # Not a batch copy: on SQLite the outbox's sent trigger names invitations, and a copied table breaks it.
    # ALTER TABLE ... DROP COLUMN works in place on PostgreSQL and on SQLite 3.35 and later.
    op.execute('ALTER TABLE invitations DROP COLUMN opened_at')
