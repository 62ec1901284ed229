"""search: filters and phrases in the index

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 (issue 7: archivists' search, filters and phrases at scale)

SQLite: `documents_fts` gains a second column, `facets`, next to `body`: one token per filterable
value of the document — `t<hex(doc_type)> s<hex(verification_status)> r<0|1> b<hex(branch)>` (no `b`
token when the branch is NULL) and `y<YYYY> m<YYYYMM> d<YYYYMMDD>`, the year, month and day of
`created_at` in Vietnam time (UTC+7). Hex, so that any value is one letters-and-digits token. A
filter is then part of the MATCH (storage/search.py), intersected in the index instead of tested on
each match's document row. The FTS5 table is rebuilt from the existing rows (`documents_fts_ids` and
so the FTS5 rowids, the search's "newest first" order, are kept), and the triggers are replaced:
the insert and delete triggers write the facets too; an update of `id` or `search_text` indexes the
row again (a new rowid, as in 0005); an update of a filtered column only (a review changing
`verification_status`/`needs_review`, a branch correction) rewrites the row's `facets` in place.

PostgreSQL: B-tree indexes on documents(created_at), (branch) and (verification_status,
needs_review), which the planner ANDs with the GIN bitmap; and a stored generated column
`search_bigrams tsvector` — every pair of adjacent lexemes of `search_vector` as one lexeme
(`thi_hong`), derived from the positions of the same to_tsvector, so a document matching a phrase
always holds the phrase's pairs — with a GIN index: a phrase query also requires all its pairs,
and GIN intersects them before any document's tsvector is read back for the positions.

A later migration that rebuilds `documents` in batch mode on SQLite drops the triggers with the old
table: it must create them again (the statements below).
"""

from __future__ import annotations

from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# Literal on purpose: a migration must keep doing what it did when later code changes.
MAX_INDEXED_CHARS = 100_000
_IDS = "documents_fts_ids"
_TOKENIZE = "tokenize = 'unicode61 remove_diacritics 2'"


def _facets(row: str) -> str:
    """The facets of the document `row` (new, old, d) as an SQL expression; storage/search.py
    makes the query's tokens the same way (facet_tokens)."""
    local = f"{row}.created_at, '+7 hours'"
    return (f"('t' || lower(hex({row}.doc_type)) || ' s' || lower(hex({row}.verification_status))"
            f" || ' r' || (CASE WHEN {row}.needs_review THEN 1 ELSE 0 END)"
            f" || (CASE WHEN {row}.branch IS NULL THEN '' ELSE ' b' || lower(hex({row}.branch)) END)"
            f" || coalesce(' y' || strftime('%Y', {local}), '')"
            f" || coalesce(' m' || strftime('%Y%m', {local}), '')"
            f" || coalesce(' d' || strftime('%Y%m%d', {local}), ''))")


_INDEX = (f"INSERT INTO documents_fts (rowid, body, facets) "
          f"SELECT fts_rowid, substr(new.search_text, 1, {MAX_INDEXED_CHARS}), {_facets('new')} "
          f"FROM {_IDS} WHERE doc_id = new.id;")
_UNINDEX = (f"DELETE FROM documents_fts WHERE rowid IN (SELECT fts_rowid FROM {_IDS} WHERE doc_id = old.id); "
            f"DELETE FROM {_IDS} WHERE doc_id = old.id;")
_TRIGGERS = ["documents_fts_update", "documents_fts_delete", "documents_fts_insert"]

SQLITE_UP = [
    # For the first and last day stored (min/max): storage/search.py turns an open or distant end
    # of a date range into the days the archive holds.
    "CREATE INDEX ix_documents_created_at ON documents (created_at)",
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS),
    "DROP TABLE IF EXISTS documents_fts",
    f"CREATE VIRTUAL TABLE documents_fts USING fts5(body, facets, {_TOKENIZE})",
    # The same rowids as before: the newest-first order is kept.
    (f"INSERT INTO documents_fts (rowid, body, facets) "
     f"SELECT m.fts_rowid, substr(d.search_text, 1, {MAX_INDEXED_CHARS}), {_facets('d')} "
     f"FROM {_IDS} m JOIN documents d ON d.id = m.doc_id"),
    f"""CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX}
    END""",
    f"""CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
        {_UNINDEX}
    END""",
    f"""CREATE TRIGGER documents_fts_update AFTER UPDATE OF id, search_text ON documents BEGIN
        {_UNINDEX} INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX}
    END""",
    # A filtered column only: the facets are rewritten in place, the rowid (the document's place in
    # the newest-first order) stays. When the same UPDATE also sets id or search_text, both
    # triggers run, in either order, and the row ends up indexed with the new values either way.
    f"""CREATE TRIGGER documents_fts_facets
        AFTER UPDATE OF doc_type, branch, verification_status, needs_review, created_at ON documents BEGIN
        UPDATE documents_fts SET facets = {_facets('new')}
        WHERE rowid IN (SELECT fts_rowid FROM {_IDS} WHERE doc_id = new.id);
    END""",
]

# Back to 0005: its one-column FTS5 table and three triggers, rebuilt from the rows.
_INDEX_0005 = (f"INSERT INTO documents_fts (rowid, body) SELECT fts_rowid, substr(new.search_text, 1, {MAX_INDEXED_CHARS}) "
               f"FROM {_IDS} WHERE doc_id = new.id;")
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS documents_fts_facets",
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _TRIGGERS),
    "DROP TABLE IF EXISTS documents_fts",
    "DROP INDEX IF EXISTS ix_documents_created_at",
    f"CREATE VIRTUAL TABLE documents_fts USING fts5(body, {_TOKENIZE})",
    (f"INSERT INTO documents_fts (rowid, body) SELECT m.fts_rowid, substr(d.search_text, 1, {MAX_INDEXED_CHARS}) "
     f"FROM {_IDS} m JOIN documents d ON d.id = m.doc_id"),
    f"""CREATE TRIGGER documents_fts_insert AFTER INSERT ON documents BEGIN
        INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX_0005}
    END""",
    f"""CREATE TRIGGER documents_fts_delete AFTER DELETE ON documents BEGIN
        {_UNINDEX}
    END""",
    f"""CREATE TRIGGER documents_fts_update AFTER UPDATE OF id, search_text ON documents BEGIN
        {_UNINDEX} INSERT INTO {_IDS} (doc_id) VALUES (new.id); {_INDEX_0005}
    END""",
]

# The lexemes of search_vector (the same expression as migration 0005's column), with their
# positions; every two at adjacent positions make one pair lexeme `a_b` (lexemes hold letters and
# digits only, so `_` cannot be inside one). A pair too long for a lexeme (2,046 bytes) is left out:
# storage/search.py leaves it out of the query too.
_BIGRAMS_FUNCTION = f"""CREATE FUNCTION search_bigrams(t text) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    WITH v AS (SELECT lexeme, unnest(positions) AS p
               FROM unnest(to_tsvector('simple'::regconfig,
                                       regexp_replace(left(t, {MAX_INDEXED_CHARS}), '[^[:alnum:]]+', ' ', 'g'))))
    SELECT coalesce(array_to_tsvector(array_agg(DISTINCT a.lexeme || '_' || b.lexeme)), ''::tsvector)
    FROM v a JOIN v b ON b.p = a.p + 1
    WHERE octet_length(a.lexeme) + octet_length(b.lexeme) < 1999 $$"""

POSTGRES_UP = [
    "CREATE INDEX ix_documents_created_at ON documents (created_at)",
    "CREATE INDEX ix_documents_branch ON documents (branch)",
    "CREATE INDEX ix_documents_review ON documents (verification_status, needs_review)",
    _BIGRAMS_FUNCTION,
    # Rewrites the table once; existing rows are filled by it.
    "ALTER TABLE documents ADD COLUMN search_bigrams tsvector GENERATED ALWAYS AS (search_bigrams(search_text)) STORED",
    "CREATE INDEX ix_documents_search_bigrams ON documents USING gin (search_bigrams)",
]
POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_documents_search_bigrams",
    "ALTER TABLE documents DROP COLUMN IF EXISTS search_bigrams",
    "DROP FUNCTION IF EXISTS search_bigrams(text)",
    "DROP INDEX IF EXISTS ix_documents_review",
    "DROP INDEX IF EXISTS ix_documents_branch",
    "DROP INDEX IF EXISTS ix_documents_created_at",
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
