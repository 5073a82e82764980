"""input attempts, mail attempts, free text columns as TEXT

Revision ID: 0007
Revises: 0006

Every column fed from outside data (form values, mail headers, server answers, reasons) holds
any length: a value longer than a VARCHAR(n) made PostgreSQL refuse the whole transaction.
SQLite neither checks nor stores a VARCHAR's length (both are TEXT affinity), so there only the
new columns and the new table are added; rebuilding the tables (batch "recreate") for a
declared length nobody enforces would only risk the partial index of ``applications``.
"""
from alembic import op
import sqlalchemy as sa

import ews.register.schema


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

#: (table, column, old length, nullable) of the free text columns that become TEXT
FREE_TEXT = [
    ('inputs', 'source_name', 1024, False),
    ('inputs', 'kommune_name', 512, True),
    ('applications', 'kommune_name', 512, False),
    ('mails', 'sender', 320, True),
    ('mails', 'subject', 998, False),
    ('mails', 'error', 2000, True),
    ('outgoing_mails', 'last_error', 2000, True),
    ('decisions', 'override_reason', 2000, True),
    ('declarations', 'hvb_name', 256, False),
    ('declarations', 'hvb_function', 256, False),
    ('declarations', 'contact_person', 256, False),
    ('network_members', 'signed_by', 256, False),
    ('network_members', 'signed_function', 256, False),
    ('network_members', 'contact_person', 256, False),
    ('network_members', 'contact_email', 320, False),
    ('network_members', 'note', 2000, False),
    ('circulars', 'withdrawn_reason', 2000, True),
    ('circular_sends', 'kommune', 512, False),
    ('circular_sends', 'salutation', 512, False),
    ('circular_sends', 'problem', 2000, True),
    ('bounces', 'recipient', 320, False),
    ('bounces', 'status', 16, False),
    ('bounces', 'reason', 2000, False),
    ('watchers', 'detail', 2000, False),
]


def upgrade() -> None:
    with op.batch_alter_table('inputs') as batch:
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False,
                                   server_default='0'))
        batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
    op.create_table('mail_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', sa.String(length=320), nullable=False),
    sa.Column('folder', sa.String(length=512), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('uid', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('updated_at', ews.register.schema.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('account', 'folder', 'uidvalidity', 'uid')
    )
    if op.get_bind().dialect.name == 'sqlite':
        return
    for table, column, length, nullable in FREE_TEXT:
        with op.batch_alter_table(table) as batch:
            batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(length),
                               existing_nullable=nullable)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'sqlite':
        # a value longer than the old length would be cut: refuse instead
        for table, column, length, nullable in FREE_TEXT:
            with op.batch_alter_table(table) as batch:
                batch.alter_column(column, type_=sa.String(length), existing_type=sa.Text(),
                                   existing_nullable=nullable)
    op.drop_table('mail_attempts')
    with op.batch_alter_table('inputs') as batch:
        batch.drop_column('last_error')
        batch.drop_column('attempts')
