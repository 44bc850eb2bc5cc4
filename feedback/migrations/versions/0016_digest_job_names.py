"""digest job names: actions.weekly-digest and insights.weekly-digest get names that tell them apart

The scheduler keys job_runs on the job's name, so the existing rows are renamed, keeping when each job is next due
(a digest already sent this week stays sent either way: digests_sent and the reminders' keys hold that). A row under
the new name can already exist when a worker of the new code ran before this upgrade; then the old row goes.

Revision ID: 0016_digest_job_names
Revises: 0015
Create Date: 2026-12-07 03:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_digest_job_names'
down_revision = '0015'
branch_labels = None
depends_on = None

RENAMED = (
    ("actions.weekly-digest", "actions.open-items-digest"),
    ("insights.weekly-digest", "insights.cancellations-digest"),
)


def _rename(old, new):
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "DELETE FROM job_runs WHERE name = :old AND EXISTS (SELECT 1 FROM job_runs AS other WHERE other.name = :new)"
        ),
        {"old": old, "new": new},
    )
    bind.execute(sa.text("UPDATE job_runs SET name = :new WHERE name = :old"), {"old": old, "new": new})


def upgrade():
    for old, new in RENAMED:
        _rename(old, new)


def downgrade():
    for old, new in RENAMED:
        _rename(new, old)
