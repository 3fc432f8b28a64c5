"""keyed audit chain sealed off the request path (issue 12)

Entries get a random ``entry_id`` and a keyed MAC (``entry_hash``) and are appended without locking a shared row;
``audit_chain`` holds the chain the sealer builds. Entries written before this revision get ``entry_id``
``legacy-<seq>`` and are adopted into the keyed chain by the first sealing round (their MAC is made then, under the
audit key). Their unkeyed links and the old checkpoints are dropped: run ``idverify audit verify`` of the previous
version before upgrading if the old chain must be checked once more.

TOTP secrets need no schema change: the store opens both the old sealing and ``FieldCipher`` blobs from the same
column and reseals old ones on their next use.

Revision ID: 0006_audit
Revises: 0005_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import idverify.storage.schema

revision = '0006_audit'
down_revision = '0005_core'
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    legacy_seq = bind.execute(sa.text("SELECT COALESCE(MAX(seq), 0) FROM audit_entries")).scalar_one()
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('entry_id', sa.String(length=40), nullable=True))
    op.execute("UPDATE audit_entries SET entry_id = 'legacy-' || CAST(seq AS VARCHAR(20))")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('entry_id', existing_type=sa.String(length=40), nullable=False)
        batch_op.drop_index(batch_op.f('ix_audit_entries_object_id'))  # 0008's (object_id, seq) serves it
        batch_op.drop_column('prev_hash')
        if bind.dialect.name == 'sqlite':  # INTEGER PRIMARY KEY: SQLite assigns it (rowid)
            batch_op.alter_column('seq', existing_type=sa.BigInteger(), type_=sa.Integer(), autoincrement=True)
    if bind.dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE audit_entries_seq_seq OWNED BY audit_entries.seq")
        op.execute(f"SELECT setval('audit_entries_seq_seq', {int(legacy_seq) + 1}, false)")
        op.execute("ALTER TABLE audit_entries ALTER COLUMN seq SET DEFAULT nextval('audit_entries_seq_seq')")

    op.create_table('audit_chain',
    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('entry_seq', sa.BigInteger(), nullable=False),
    sa.Column('entry_mac', sa.String(length=64), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_audit_chain')),
    sa.UniqueConstraint('entry_seq', name=op.f('uq_audit_chain_entry_seq'))
    )
    op.drop_table('audit_chain_head')
    head = op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('position', sa.BigInteger(), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('max_entry_seq', sa.BigInteger(), nullable=False),
    sa.Column('legacy_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.bulk_insert(head, [{'id': 1, 'position': 0, 'chain_hash': '0' * 64, 'max_entry_seq': 0,
                           'legacy_seq': int(legacy_seq)}])
    op.drop_table('audit_checkpoints')
    op.create_table('audit_checkpoints',
    sa.Column('position', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('chain_hash', sa.String(length=64), nullable=False),
    sa.Column('max_entry_seq', sa.BigInteger(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.PrimaryKeyConstraint('position', name=op.f('pk_audit_checkpoints'))
    )


def downgrade() -> None:
    # The keyed chain cannot be turned back into the unkeyed one without recomputing it; downgrade keeps the
    # entries and recreates the old, empty head and checkpoint tables (the old code rebuilds its chain head).
    bind = op.get_bind()
    op.drop_table('audit_checkpoints')
    op.create_table('audit_checkpoints',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', idverify.storage.schema.UtcDateTime(timezone=True), nullable=False),
    sa.Column('entry_hash', sa.String(length=64), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoints'))
    )
    op.drop_table('audit_chain_head')
    op.create_table('audit_chain_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_chain_head'))
    )
    op.drop_table('audit_chain')
    if bind.dialect.name == 'postgresql':
        op.execute("ALTER TABLE audit_entries ALTER COLUMN seq DROP DEFAULT")
        op.execute("DROP SEQUENCE IF EXISTS audit_entries_seq_seq")
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=False, server_default='0' * 64))
        batch_op.create_index(batch_op.f('ix_audit_entries_object_id'), ['object_id'], unique=False)
        batch_op.drop_column('entry_id')
        if bind.dialect.name == 'sqlite':
            batch_op.alter_column('seq', existing_type=sa.Integer(), type_=sa.BigInteger(), autoincrement=False)
