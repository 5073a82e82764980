"""web interface: users and failed sign-ins

Revision ID: 0010
Revises: 0009

"""
from alembic import op
import sqlalchemy as sa

import ews.register.schema


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('password_changed_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('web_signin_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('client', sa.String(length=64), nullable=False),
    sa.Column('at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_web_signin_failures_name', 'web_signin_failures', ['name'])
    op.create_index('ix_web_signin_failures_client', 'web_signin_failures', ['client'])
    op.create_index('ix_web_signin_failures_at', 'web_signin_failures', ['at'])


def downgrade() -> None:
    op.drop_table('web_signin_failures')
    op.drop_table('web_users')
