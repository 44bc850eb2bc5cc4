"""soft bounces: an inbound delivery report says whether it was a temporary failure, counted per address

Revision ID: 0023_soft_bounces
Revises: 0023_link_fetched
Create Date: 2026-12-07 14:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_soft_bounces'
down_revision = '0023_link_fetched'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('inbound_messages',
                  sa.Column('soft_bounce', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    op.drop_column('inbound_messages', 'soft_bounce')  # in place (SQLite 3.35+), not a batch copy
