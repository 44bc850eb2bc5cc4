"""survey languages: a questionnaire version names the languages published switched off

Customers whose language is switched off read that version, and the pages and emails around it, in the default
language whole, instead of translated questions next to English ones. Existing versions switch nothing off.

Revision ID: 0023_survey_languages
Revises: 0022_two_factor
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_survey_languages'
down_revision = '0022_two_factor'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column(
        'questionnaire_versions',
        sa.Column('languages_off', sa.JSON(), nullable=False, server_default='[]'),
    )


def downgrade():
    # In place, not a batch copy: dropping the copied table on SQLite would cascade into every version's questions.
    op.drop_column('questionnaire_versions', 'languages_off')
