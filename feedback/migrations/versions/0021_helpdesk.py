"""help desk: a customer's kept conversations, and the queue of fetches that read them

Revision ID: 0021_helpdesk
Revises: 0020_billing_vendors
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0021_helpdesk'
down_revision = '0020_billing_vendors'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('helpdesk_conversations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=100), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=40), nullable=False),
    sa.Column('channel', sa.String(length=40), nullable=False),
    sa.Column('opened_at', sa.DateTime(), nullable=False),
    sa.Column('solved_at', sa.DateTime(), nullable=True),
    sa.Column('replies', sa.Integer(), nullable=True),
    sa.Column('satisfaction', sa.String(length=40), nullable=False),
    sa.Column('tags', sa.JSON(), nullable=False),
    sa.Column('opening_message', sa.Text(), nullable=False),
    sa.Column('opened_by_customer', sa.Boolean(), nullable=False),
    sa.Column('fetched_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("source IN ('zendesk', 'freshdesk', 'helpscout', 'helpspot', 'api')", name=op.f('ck_helpdesk_conversations_source_known')),
    sa.CheckConstraint('replies IS NULL OR replies >= 0', name=op.f('ck_helpdesk_conversations_replies_not_negative')),
    sa.CheckConstraint('length(opening_message) <= 2000', name=op.f('ck_helpdesk_conversations_opening_message_cut')),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_helpdesk_conversations_customer_id_customers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_conversations')),
    sa.UniqueConstraint('customer_id', 'source', 'external_id', name='uq_helpdesk_conversations_customer_source_id')
    )
    op.create_index(op.f('ix_helpdesk_conversations_customer_id'), 'helpdesk_conversations', ['customer_id'], unique=False)
    op.create_table('helpdesk_fetches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cancellation_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Text(), nullable=False),
    sa.CheckConstraint("state IN ('queued', 'done', 'failed')", name=op.f('ck_helpdesk_fetches_state_known')),
    sa.CheckConstraint("(state = 'queued') = (finished_at IS NULL)", name=op.f('ck_helpdesk_fetches_finished_unless_queued')),
    sa.CheckConstraint('attempts >= 0', name=op.f('ck_helpdesk_fetches_attempts_not_negative')),
    sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_helpdesk_fetches_cancellation_id_cancellations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_helpdesk_fetches'))
    )
    op.create_index(op.f('ix_helpdesk_fetches_cancellation_id'), 'helpdesk_fetches', ['cancellation_id'], unique=False)
    op.create_index('ix_helpdesk_fetches_due', 'helpdesk_fetches', ['state', 'due_at'], unique=False)
    op.create_index('uq_helpdesk_fetches_one_queued', 'helpdesk_fetches', ['cancellation_id'], unique=True,
                    sqlite_where=sa.text("state = 'queued'"), postgresql_where=sa.text("state = 'queued'"))


def downgrade():
    op.drop_table('helpdesk_fetches')
    op.drop_table('helpdesk_conversations')
