"""correspondence and follow-ups (the case file)

Revision ID: 0008
Revises: 0007

"""
from alembic import op
import sqlalchemy as sa

import ews.register.schema


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('correspondence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('az', sa.String(length=64), nullable=True),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('mail_id', sa.Integer(), nullable=True),
    sa.Column('input_id', sa.Integer(), nullable=True),
    sa.Column('matched_by', sa.String(length=16), nullable=False),
    sa.Column('sender', sa.Text(), nullable=True),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('excerpt', sa.Text(), nullable=False),
    sa.Column('received_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('raw_path', sa.String(length=1024), nullable=True),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('acknowledged_at', ews.register.schema.UtcDateTime(), nullable=True),
    sa.Column('handled_by', sa.String(length=128), nullable=True),
    sa.Column('handled_at', ews.register.schema.UtcDateTime(), nullable=True),
    sa.Column('created_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['input_id'], ['inputs.id'], ),
    sa.ForeignKeyConstraint(['mail_id'], ['mails.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mail_id')
    )
    op.create_index('ix_correspondence_az', 'correspondence', ['az'])
    op.create_index('ix_correspondence_application_id', 'correspondence', ['application_id'])
    op.create_index('ix_correspondence_input_id', 'correspondence', ['input_id'])
    op.create_index('ix_correspondence_sha256', 'correspondence', ['sha256'])
    op.create_index('ix_correspondence_state', 'correspondence', ['state'])
    op.create_table('follow_ups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('az', sa.String(length=64), nullable=False),
    sa.Column('application_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('letter_id', sa.Integer(), nullable=True),
    sa.Column('declaration_id', sa.Integer(), nullable=True),
    sa.Column('due_on', sa.String(length=10), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.Column('reminded_on', sa.String(length=10), nullable=True),
    sa.Column('closed_by', sa.String(length=128), nullable=True),
    sa.Column('closed_at', ews.register.schema.UtcDateTime(), nullable=True),
    sa.Column('close_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['application_id'], ['applications.id'], ),
    sa.ForeignKeyConstraint(['declaration_id'], ['declarations.id'], ),
    sa.ForeignKeyConstraint(['letter_id'], ['letters.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('declaration_id'),
    sa.UniqueConstraint('letter_id')
    )
    op.create_index('ix_follow_ups_az', 'follow_ups', ['az'])
    op.create_index('ix_follow_ups_application_id', 'follow_ups', ['application_id'])
    op.create_index('ix_follow_ups_due_on', 'follow_ups', ['due_on'])
    op.create_index('ix_follow_ups_state', 'follow_ups', ['state'])


def downgrade() -> None:
    op.drop_table('follow_ups')
    op.drop_table('correspondence')
