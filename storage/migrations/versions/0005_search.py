"""full-text search over documents

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 (issue 7: archivists' search in Vietnamese)

SQLite: an FTS5 table `documents_fts` (its own copy of the folded text) and `documents_fts_ids`
(FTS5 rowid → document id), kept in sync by triggers on `documents`, so every way a row is
written — the pipeline, a bag import, plain SQL — is indexed.
PostgreSQL: a stored generated tsvector column `documents.search_vector` with a GIN index.

Both cut text into runs of letters and digits (unicode61 on SQLite; on PostgreSQL every other run
of characters becomes a space before the parser sees it), so a query means the same on both, and
both index the first 100,000 characters (storage/search.py MAX_INDEXED_CHARS) of `search_text`.

On SQLite a later migration that rebuilds `documents` (batch mode copies it into a new table) drops
these triggers with the old table: it must create them again (the statements below).
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# Literal on purpose: a migration must keep doing what it did when later code changes.
MAX_INDEXED_CHARS = 100_000

# Which document each FTS5 row indexes, in a narrow table of its own: the search joins every hit to
# its document when filtering, and reading an id here is far cheaper than from the FTS5 content
# (one fat row per document); its unique doc_id also lets the triggers find a document's FTS row.
_IDS = "documents_fts_ids"
_INDEX = (f"INSERT INTO documents_fts (rowid, body) SELECT fts_rowid, substr(new.search_text, 1, {MAX_INDEXED_CHARS}) "
          f"FROM {_IDS} WHERE doc_id = new.id;")
_UNINDEX = (f"DELETE FROM documents_fts WHERE rowid IN (SELECT fts_rowid FROM {_IDS} WHERE doc_id = old.id); "
            f"DELETE FROM {_IDS} WHERE doc_id = old.id;")
SQLITE_UP = [
    # Unicode61 with remove_diacritics 2 folds again what the pipeline already folded: a second
    # line of defence should a row's search_text ever be written unfolded.
    "CREATE VIRTUAL TABLE documents_fts USING fts5(body, tokenize = 'unicode61 remove_diacritics 2')",
    f"CREATE TABLE {_IDS} (fts_rowid INTEGER PRIMARY KEY, doc_id VARCHAR(80) NOT NULL UNIQUE)",
    f"""CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX}
    END""",
    f"""CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
        {_UNINDEX}
    END""",
    # Only the indexed columns: a review that changes the status or the needs_review flag leaves
    # the index alone.
    f"""CREATE TRIGGER documents_fts_update AFTER UPDATE OF id, search_text ON documents BEGIN
        {_UNINDEX} INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX}
    END""",
    f"INSERT INTO {_IDS} (doc_id) SELECT id FROM documents ORDER BY created_at",
    (f"INSERT INTO documents_fts (rowid, body) SELECT m.fts_rowid, substr(d.search_text, 1, {MAX_INDEXED_CHARS}) "
     f"FROM {_IDS} m JOIN documents d ON d.id = m.doc_id"),
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS documents_fts_update",
    "DROP TRIGGER IF EXISTS documents_fts_delete",
    "DROP TRIGGER IF EXISTS documents_fts_insert",
    f"DROP TABLE IF EXISTS {_IDS}",
    "DROP TABLE IF EXISTS documents_fts",
]

POSTGRES_UP = [
    # 'simple': lower-casing only, no stemming or stop words — right for folded Vietnamese
    # syllables. Adding a stored column rewrites the table once; existing rows are filled by it.
    ("ALTER TABLE documents ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
     f"to_tsvector('simple'::regconfig, regexp_replace(left(search_text, {MAX_INDEXED_CHARS}), "
     "'[^[:alnum:]]+', ' ', 'g'))) STORED"),
    "CREATE INDEX ix_documents_search_vector ON documents USING gin (search_vector)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_documents_search_vector",
    "ALTER TABLE documents DROP COLUMN IF EXISTS search_vector",
]


def _run(statements: dict[str, list[str]]) -> None:
    bind = op.get_bind()
    for statement in statements.get(bind.dialect.name, []):
        # As written, not through text(): "[:alnum:]" would be read as a bind parameter.
        bind.exec_driver_sql(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
