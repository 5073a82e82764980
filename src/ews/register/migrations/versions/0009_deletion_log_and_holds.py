"""deletion log, legal holds and recorded exports (Löschkonzept)

Revision ID: 0009
Revises: 0008

"""
from alembic import op
import sqlalchemy as sa

import ews.register.schema


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deletion_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=128), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('way', sa.String(length=32), nullable=False),
    sa.Column('az', sa.String(length=64), nullable=True),
    sa.Column('record_ids', sa.JSON(), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_deletion_log_az', 'deletion_log', ['az'])
    op.create_table('legal_holds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('az', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('set_by', sa.String(length=128), nullable=False),
    sa.Column('set_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('lifted_by', sa.String(length=128), nullable=True),
    sa.Column('lifted_at', ews.register.schema.UtcDateTime(), nullable=True),
    sa.Column('lift_reason', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_legal_holds_az', 'legal_holds', ['az'])
    op.create_table('exports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('location', sa.String(length=1024), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('deleted_at', ews.register.schema.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    op.drop_table('exports')
    op.drop_table('legal_holds')
    op.drop_table('deletion_log')
