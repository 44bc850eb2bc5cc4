"""link fetched: an invitation keeps when its link was first fetched, apart from when a person opened it

Mail scanners fetch every link within seconds of delivery, so a GET no longer counts as opened: `opened_at` is
set by the page's beacon once a browser shows it, or by any submit. Until now every GET set `opened_at`, so what it
holds is copied into `fetched_at` (a fetch, at least) and left where it is (who fetched cannot be told afterwards).

Revision ID: 0023_link_fetched
Revises: 0023_survey_languages
Create Date: 2026-12-07 13:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_link_fetched'
down_revision = '0023_survey_languages'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('invitations', sa.Column('fetched_at', sa.DateTime(), nullable=True))
    op.execute('UPDATE invitations SET fetched_at = opened_at')


def downgrade():
    # In place, not a batch copy: on SQLite the outbox's sent trigger names invitations (see 0011).
    op.execute('ALTER TABLE invitations DROP COLUMN fetched_at')
