"""Outbox leases for several workers, messages stored as built, the suppression list, survey reminders, a 'skipped' outbox state

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 22:16:44.462960

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('suppressions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('address', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('cancellation_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['cancellation_id'], ['cancellations.id'], name=op.f('fk_suppressions_cancellation_id_cancellations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_suppressions')),
    sa.UniqueConstraint('address', name=op.f('uq_suppressions_address'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(), nullable=True))

    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('lease_expires_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('unsubscribe_url', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('mime', sa.LargeBinary(), nullable=True))
        # Autogenerate does not see CHECK constraints change: a message may now be skipped on purpose.
        batch_op.drop_constraint(op.f('ck_outbox_messages_status_known'), type_='check')
        batch_op.create_check_constraint(
            op.f('ck_outbox_messages_status_known'), "status IN ('queued', 'sent', 'failed', 'skipped')"
        )


def downgrade():
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_outbox_messages_status_known'), type_='check')
        batch_op.create_check_constraint(op.f('ck_outbox_messages_status_known'), "status IN ('queued', 'sent', 'failed')")
        batch_op.drop_column('mime')
        batch_op.drop_column('unsubscribe_url')
        batch_op.drop_column('lease_expires_at')
        batch_op.drop_column('claimed_by')

    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('reminded_at')

    op.drop_table('suppressions')
