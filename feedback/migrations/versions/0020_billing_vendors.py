"""Paddle and Chargebee: a subscription may be known only for its failing payment (no cancellation state yet);
money in its own currency: customers and cancellations say the ISO 4217 currency of their MRR

Revision ID: 0020_billing_vendors
Revises: 0025_inbound_verdicts
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_billing_vendors'
down_revision = '0025_inbound_verdicts'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('payment_failing_since', sa.DateTime(), nullable=True))
        batch_op.alter_column('state', existing_type=sa.String(length=16), nullable=True)
    op.add_column('customers', sa.Column('currency', sa.String(length=3), nullable=True))
    op.add_column('cancellations', sa.Column('currency', sa.String(length=3), nullable=True))


def downgrade():
    op.drop_column('cancellations', 'currency')  # SQLite 3.35+ drops a column in place
    op.drop_column('customers', 'currency')
    op.execute("DELETE FROM billing_subscriptions WHERE state IS NULL")
    with op.batch_alter_table('billing_subscriptions', schema=None) as batch_op:
        batch_op.alter_column('state', existing_type=sa.String(length=16), nullable=False)
        batch_op.drop_column('payment_failing_since')
