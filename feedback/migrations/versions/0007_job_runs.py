"""job_runs: the scheduler's lease row per periodic job

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 20:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('job_runs',
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('next_due_at', sa.DateTime(), nullable=False),
    sa.Column('last_started_at', sa.DateTime(), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(), nullable=True),
    sa.Column('last_outcome', sa.String(length=16), nullable=True),
    sa.Column('last_report', sa.Text(), nullable=False),
    sa.Column('locked_by', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("last_outcome IS NULL OR last_outcome IN ('ok', 'failed')", name=op.f('ck_job_runs_outcome_known')),
    sa.CheckConstraint('(locked_by IS NULL) = (lease_expires_at IS NULL)', name=op.f('ck_job_runs_lease_has_holder')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_job_runs'))
    )


def downgrade():
    op.drop_table('job_runs')
