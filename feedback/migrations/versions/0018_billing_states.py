"""billing states: a cancellation scheduled, undone (stayed), ended or involuntary; subscriptions' newest event

Cancellations gain ends_at, ended_at, stayed_at and involuntary (plain ADD COLUMN: copying cancellations on
SQLite would cascade into its timeline). billing_subscriptions keeps each subscription's state as its newest
event said, so that late deliveries are recognised.

Revision ID: 0018_billing_states
Revises: 0017_inbound_unreadable
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_billing_states'
down_revision = '0017_inbound_unreadable'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('billing_subscriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('system', sa.String(length=16), nullable=False),
    sa.Column('subscription_id', sa.String(length=255), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('event_at', sa.DateTime(), nullable=False),
    sa.Column('cancellation_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("state IN ('scheduled', 'stayed', 'ended')", name=op.f('ck_billing_subscriptions_state_known')),
    sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_billing_subscriptions_cancellation_id_cancellations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_billing_subscriptions')),
    sa.UniqueConstraint('system', 'subscription_id', name='uq_billing_subscriptions_system_subscription')
    )
    op.add_column('cancellations', sa.Column('ends_at', sa.DateTime(), nullable=True))
    op.add_column('cancellations', sa.Column('ended_at', sa.DateTime(), nullable=True))
    op.add_column('cancellations', sa.Column('stayed_at', sa.DateTime(), nullable=True))
    op.add_column('cancellations', sa.Column('involuntary', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column('cancellations', 'involuntary')  # SQLite 3.35+ drops a column in place
    op.drop_column('cancellations', 'stayed_at')
    op.drop_column('cancellations', 'ended_at')
    op.drop_column('cancellations', 'ends_at')
    op.drop_table('billing_subscriptions')
