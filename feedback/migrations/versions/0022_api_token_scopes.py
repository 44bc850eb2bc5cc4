"""API token scopes: a row per scope a token holds; the tokens made before scopes keep every one

Revision ID: 0022_api_token_scopes
Revises: 0021_helpdesk
Create Date: 2026-12-07 13:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_api_token_scopes'
down_revision = '0021_helpdesk'
branch_labels = None
depends_on = None

#: The scopes as they were named at this revision (a later one that adds a scope widens the check).
SCOPES = (
    'cancellations:write', 'cancellations:read', 'customers:read', 'customers:write', 'privacy:export',
    'privacy:erase', 'insights:read', 'action_items:write', 'events:read',
)


def upgrade():
    op.create_table('api_token_scopes',
    sa.Column('token_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=40), nullable=False),
    sa.CheckConstraint("scope IN (" + ", ".join(f"'{s}'" for s in SCOPES) + ")", name=op.f('ck_api_token_scopes_scope_known')),
    sa.ForeignKeyConstraint(['token_id'], ['api_tokens.id'], name=op.f('fk_api_token_scopes_token_id_api_tokens'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_id', 'scope', name=op.f('pk_api_token_scopes'))
    )
    # Every token that exists could do everything until now: it keeps doing so, revoked ones included (harmless).
    for scope in SCOPES:
        op.execute(
            sa.text("INSERT INTO api_token_scopes (token_id, scope) SELECT id, :scope FROM api_tokens").bindparams(
                scope=scope
            )
        )


def downgrade():
    op.drop_table('api_token_scopes')
