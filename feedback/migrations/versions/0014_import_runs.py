"""import_runs: CSV imports checked and imported by the worker, with their progress and a lease

- import_runs: the uploaded file, its status (uploaded, checking, checked, confirmed, importing, imported, failed),
  rows total/checked/imported, the problems found, why it failed, and the worker's lease.
- import_mail: the imported invitations whose two emails are still to be queued (after the import's commit).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 06:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=True),
    sa.Column('only_valid', sa.Boolean(), nullable=False),
    sa.Column('total_rows', sa.Integer(), nullable=False),
    sa.Column('checked_rows', sa.Integer(), nullable=False),
    sa.Column('imported_rows', sa.Integer(), nullable=False),
    sa.Column('problems', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('claimed_by', sa.String(length=100), nullable=True),
    sa.Column('lease_expires_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('uploaded', 'checking', 'checked', 'confirmed', 'importing', 'imported', 'failed')", name=op.f('ck_import_runs_status_known')),
    sa.CheckConstraint("kind IN ('cancellations', 'customers')", name=op.f('ck_import_runs_kind_known')),
    sa.CheckConstraint('(claimed_by IS NULL) = (lease_expires_at IS NULL)', name=op.f('ck_import_runs_lease_has_holder')),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], name=op.f('fk_import_runs_uploaded_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_import_runs_uploaded_by_id'), ['uploaded_by_id'], unique=False)
    op.create_table('import_mail',
    sa.Column('invitation_id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['invitation_id'], ['invitations.id'], name=op.f('fk_import_mail_invitation_id_invitations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['import_runs.id'], name=op.f('fk_import_mail_run_id_import_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('invitation_id', name=op.f('pk_import_mail'))
    )
    with op.batch_alter_table('import_mail', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_mail_run_id'), ['run_id'], unique=False)


def downgrade():
    op.drop_table('import_mail')
    op.drop_table('import_runs')
