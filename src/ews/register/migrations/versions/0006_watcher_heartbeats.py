"""watcher heartbeats

Revision ID: 0006
Revises: 0005

"""
from alembic import op
import sqlalchemy as sa

import ews.register.schema


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('watchers',
    sa.Column('name', sa.String(length=512), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('holder', sa.String(length=256), nullable=False),
    sa.Column('started_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('beat_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.String(length=2000), nullable=False),
    sa.PrimaryKeyConstraint('name')
    )


def downgrade() -> None:
    op.drop_table('watchers')
