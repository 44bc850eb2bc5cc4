"""inbound: raw messages received by email, customers' replies, Mailgun tokens, bounces on the outbox

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-01 21:10:00

"""
from alembic import op
import sqlalchemy as sa



# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('envelope_recipient', sa.String(length=254), nullable=False),
    sa.Column('raw', sa.LargeBinary(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('truncated', sa.Boolean(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('processed_at', sa.DateTime(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('cancellation_id', sa.Integer(), nullable=True),
    sa.Column('outbox_message_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('received', 'reply', 'unmatched', 'auto_reply', 'bounce', 'failed', 'discarded')", name=op.f('ck_inbound_messages_status_known')),
    sa.CheckConstraint("(status = 'received') = (processed_at IS NULL)", name=op.f('ck_inbound_messages_processed_iff_not_received')),
    sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_inbound_messages_cancellation_id_cancellations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['outbox_message_id'], ['outbox_messages.id'], name=op.f('fk_inbound_messages_outbox_message_id_outbox_messages'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('message_id', name=op.f('uq_inbound_messages_message_id'))
    )
    op.create_index(op.f('ix_inbound_messages_cancellation_id'), 'inbound_messages', ['cancellation_id'], unique=False)
    op.create_index(op.f('ix_inbound_messages_received_at'), 'inbound_messages', ['received_at'], unique=False)
    op.create_index(op.f('ix_inbound_messages_status'), 'inbound_messages', ['status'], unique=False)
    op.create_table('customer_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('cancellation_id', sa.Integer(), nullable=False),
    sa.Column('inbound_message_id', sa.Integer(), nullable=False),
    sa.Column('from_address', sa.String(length=254), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('attached_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['attached_by_id'], ['users.id'], name=op.f('fk_customer_replies_attached_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_customer_replies_cancellation_id_cancellations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbound_message_id'], ['inbound_messages.id'], name=op.f('fk_customer_replies_inbound_message_id_inbound_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_replies')),
    sa.UniqueConstraint('inbound_message_id', name=op.f('uq_customer_replies_inbound_message_id'))
    )
    op.create_index(op.f('ix_customer_replies_cancellation_id'), 'customer_replies', ['cancellation_id'], unique=False)
    op.create_table('inbound_webhook_tokens',
    sa.Column('token', sa.String(length=255), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('token', name=op.f('pk_inbound_webhook_tokens'))
    )
    op.create_index(op.f('ix_inbound_webhook_tokens_used_at'), 'inbound_webhook_tokens', ['used_at'], unique=False)
    # Plain ADD COLUMN, not batch mode: copying outbox_messages on SQLite would drop its trigger (see 0008).
    op.add_column('outbox_messages', sa.Column('bounced_at', sa.DateTime(), nullable=True))
    op.add_column('outbox_messages', sa.Column('bounce_detail', sa.Text(), nullable=False, server_default=''))


def downgrade():
    op.drop_column('outbox_messages', 'bounce_detail')
    op.drop_column('outbox_messages', 'bounced_at')
    op.drop_index(op.f('ix_inbound_webhook_tokens_used_at'), table_name='inbound_webhook_tokens')
    op.drop_table('inbound_webhook_tokens')
    op.drop_index(op.f('ix_customer_replies_cancellation_id'), table_name='customer_replies')
    op.drop_table('customer_replies')
    op.drop_index(op.f('ix_inbound_messages_status'), table_name='inbound_messages')
    op.drop_index(op.f('ix_inbound_messages_received_at'), table_name='inbound_messages')
    op.drop_index(op.f('ix_inbound_messages_cancellation_id'), table_name='inbound_messages')
    op.drop_table('inbound_messages')
