"""Archivists' full-text search over stored documents: one interface, two backends.

Both backends index `documents.search_text`, which the pipeline already folds (no tone or vowel
marks, đ→d, lower case), and the query is folded the same way, so "Đà Nẵng" and "da nang" are the
same search. On SQLite an FTS5 table (`documents_fts`) is kept in sync by triggers; on PostgreSQL a
generated `tsvector` column with a GIN index. Both are made by migration 0005 and both split text
into tokens at every character that is not a letter or a digit, so a query means the same thing on
either database. See docs/search.md.

User text never reaches SQL or a MATCH/tsquery parser as written: it is cut into letter-and-digit
tokens here and the engine's query is assembled from those tokens alone, so operators such as
OR, NEAR(, *, quotes or dashes in the input are only ever words or separators.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (ColumnElement, Connection, Integer, Row, Select, String, Text, column,
                        func, literal_column, select, table, text)

from extraction.normalize import fold, fold_char, nfc

from .db import DocumentRow

MAX_LIMIT = 100
# Only this much of a document's folded text is indexed, on both backends (migration 0005 uses the
# same number): it keeps a PostgreSQL tsvector far below its 1 MB cap, so an insert can never fail
# because a document is long. Papers at a desk are 1–2 KB of text.
MAX_INDEXED_CHARS = 100_000
# A query's tokens beyond this are ignored: a pasted paragraph must not become a huge query.
MAX_QUERY_TOKENS = 32
SNIPPET_TOKENS = 24

# Letters and digits: the same token rule as FTS5's unicode61 ("L* N*") and as the PostgreSQL
# column, which replaces every run of other characters with a space before indexing.
_TOKEN = re.compile(r"[^\W_]+")
# Typographic quotes (phones, word processors) delimit phrases as well as the ASCII one.
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"'})
_PART = re.compile(r'"([^"]*)"?|([^\s"]+)')
# Snippet highlight markers asked of the database: control characters cannot be confused with
# document text, unlike "<mark>" which a scanned page might print.
_OPEN, _CLOSE = "\x02", "\x03"
_MARKERS = re.compile(f"([{_OPEN}{_CLOSE}])")
_WHITESPACE = re.compile(r"\s+")

Clause = tuple[str, ...]  # one token: a word; several: a phrase, its tokens adjacent and in order


@dataclass(frozen=True)
class Filters:
    """Conditions on the document row. `created_from` is inclusive, `created_to` exclusive."""

    doc_type: str | None = None
    branch: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    verification_status: str | None = None
    needs_review: bool | None = None


class Hit(BaseModel):
    """One search hit; also what `GET /v1/search` returns for it."""

    model_config = ConfigDict(frozen=True)

    result_code: str
    doc_type: str
    branch: str | None
    created_at: datetime
    verification_status: str
    needs_review: bool
    score: float = Field(description="relevance, higher first; comparable within one search only "
                                     "(bm25 on SQLite, ts_rank_cd on PostgreSQL)")
    snippet: str = Field(description="HTML: the document's own text (diacritics as printed) around the matches, "
                                     "escaped, with the matches in <mark></mark>; the folded text when the two "
                                     "cannot be aligned (docs/search.md)")


@dataclass(frozen=True)
class SearchPage:
    total: int  # every matching document, not only this page's
    hits: list[Hit]
    next_offset: int | None  # None on the last page

    # A page reads as the sequence of its hits, as the list this search used to return did.
    def __iter__(self) -> Iterator[Hit]:
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.hits)


# --------------------------------------------------------------------------- the query
def parse(query: str) -> list[Clause]:
    """Folded clauses of a user query: "quoted text" is a phrase, every other word must occur.

    A word made of several tokens ("27/09/1970", "Nguyễn-Văn") is a phrase of them, as it would be
    on the page. An unclosed quote runs to the end. Duplicates are dropped.
    """
    clauses: list[Clause] = []
    budget = MAX_QUERY_TOKENS
    for m in _PART.finditer(query.translate(_QUOTES)):
        tokens = tuple(_TOKEN.findall(fold(m.group(1) if m.group(1) is not None else m.group(2))))[:budget]
        if tokens and tokens not in clauses:
            clauses.append(tokens)
            budget -= len(tokens)
        if budget <= 0:
            break
    return clauses


def fts5_query(clauses: Sequence[Clause]) -> str:
    # Every clause double-quoted: FTS5 reads it as a phrase (a lone token is a one-word phrase),
    # never as an operator; tokens hold only letters and digits, so no quote can be inside.
    return " ".join('"' + " ".join(c) + '"' for c in clauses)


def tsquery(clauses: Sequence[Clause]) -> str:
    # Each lexeme single-quoted for to_tsquery; <-> is "followed by", the phrase operator.
    return " & ".join("(" + " <-> ".join(f"'{t}'" for t in c) + ")" for c in clauses)


# --------------------------------------------------------------------------- the backends
@dataclass(frozen=True)
class Ranked:
    doc_id: str
    score: float
    key: int | str  # where the backend finds the hit again for its snippet (FTS5 rowid, document id)


class Backend(Protocol):
    def page(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]],
             limit: int, offset: int) -> tuple[list[Ranked], int | None]:
        """One page of hits, best first (ties in an order fixed for the database), and the
        number of all hits; None for that when the page is empty (nothing to count it on)."""

    def count(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]]) -> int: ...

    def snippets(self, conn: Connection, clauses: Sequence[Clause], hits: Sequence[Ranked]) -> dict[str, str]:
        """Raw snippets by document id: text with _OPEN/_CLOSE around the matches."""


_DOCS = DocumentRow.__table__
_FTS = table("documents_fts", column("rowid", Integer), column("body", Text))
_IDS = table("documents_fts_ids", column("fts_rowid", Integer), column("doc_id", String))
_FTS_NAME = literal_column("documents_fts")  # FTS5's auxiliary functions take the table itself
# Counted alongside the page: the hits are all ranked before the page is cut anyway.
_TOTAL = func.count().over().label("total")


class SqliteBackend:
    """FTS5: `documents_fts(body)` and `documents_fts_ids(fts_rowid, doc_id)`, filled by triggers."""

    @staticmethod
    def _match(clauses: Sequence[Clause]) -> ColumnElement[bool]:
        return text("documents_fts MATCH :fts_query").bindparams(fts_query=fts5_query(clauses))

    def _hits(self, clauses: Sequence[Clause], where: list[ColumnElement[bool]]) -> Select:
        hits = select(_FTS.c.rowid.label("fts_rowid"), func.bm25(_FTS_NAME).label("rank")).where(self._match(clauses))
        if not where:
            return hits
        # Materialised so SQLite runs the full-text match first and then looks each hit up,
        # instead of re-running the match for every row a filter's index yields.
        found = hits.cte("hits").prefix_with("MATERIALIZED")
        return (select(found.c.fts_rowid, found.c.rank)
                .join_from(found, _IDS, _IDS.c.fts_rowid == found.c.fts_rowid)
                .join(_DOCS, _DOCS.c.id == _IDS.c.doc_id).where(*where))

    def page(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]],
             limit: int, offset: int) -> tuple[list[Ranked], int | None]:
        hits = self._hits(clauses, where).subquery()
        # bm25: lower is better. Ties in FTS5 rowid order, the order documents were indexed in.
        ranked = conn.execute(select(hits.c.fts_rowid, hits.c.rank, _TOTAL)
                              .order_by(hits.c.rank, hits.c.fts_rowid).limit(limit).offset(offset)).all()
        ids = dict(conn.execute(select(_IDS.c.fts_rowid, _IDS.c.doc_id)
                                .where(_IDS.c.fts_rowid.in_([r.fts_rowid for r in ranked]))).all())
        return ([Ranked(ids[r.fts_rowid], -r.rank, r.fts_rowid) for r in ranked if r.fts_rowid in ids],
                ranked[0].total if ranked else None)

    def count(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]]) -> int:
        return conn.execute(select(func.count()).select_from(self._hits(clauses, where).subquery())).scalar_one()

    def snippets(self, conn: Connection, clauses: Sequence[Clause], hits: Sequence[Ranked]) -> dict[str, str]:
        # Only the page's rows: snippet() re-reads and re-tokenises each document's text.
        snippet = func.snippet(_FTS_NAME, 0, _OPEN, _CLOSE, "…", SNIPPET_TOKENS)
        doc_of = {h.key: h.doc_id for h in hits}
        stmt = select(_FTS.c.rowid, snippet).where(self._match(clauses), _FTS.c.rowid.in_(list(doc_of)))
        return {doc_of[rowid]: text_ for rowid, text_ in conn.execute(stmt)}


_VECTOR = literal_column("documents.search_vector")
_SIMPLE = literal_column("'simple'::regconfig")
# Must equal the generated column's expression in migration 0005 so ts_headline sees the tokens
# that were indexed (the column itself holds lexemes only, not text to show).
_PG_INDEXED_TEXT = func.regexp_replace(func.left(_DOCS.c.search_text, MAX_INDEXED_CHARS), "[^[:alnum:]]+", " ", "g")
_HEADLINE_OPTIONS = (f"StartSel={_OPEN}, StopSel={_CLOSE}, MaxWords={SNIPPET_TOKENS}, "
                     f"MinWords={SNIPPET_TOKENS // 2}, ShortWord=0")


class PostgresBackend:
    """A generated tsvector column `documents.search_vector` ('simple' configuration) with a GIN index."""

    @staticmethod
    def _query(clauses: Sequence[Clause]) -> ColumnElement:
        return func.to_tsquery(_SIMPLE, tsquery(clauses))

    def page(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]],
             limit: int, offset: int) -> tuple[list[Ranked], int | None]:
        query = self._query(clauses)
        # Normalisation 1: divide by 1 + log(length), so long documents do not win by size alone
        # (bm25 on SQLite normalises by length too).
        score = func.ts_rank_cd(_VECTOR, query, 1).label("score")
        ranked = conn.execute(select(_DOCS.c.id, score, _TOTAL).where(_VECTOR.op("@@")(query), *where)
                              .order_by(score.desc(), _DOCS.c.id).limit(limit).offset(offset)).all()
        return [Ranked(r.id, float(r.score), r.id) for r in ranked], ranked[0].total if ranked else None

    def count(self, conn: Connection, clauses: Sequence[Clause], where: list[ColumnElement[bool]]) -> int:
        stmt = select(func.count()).select_from(_DOCS).where(_VECTOR.op("@@")(self._query(clauses)), *where)
        return conn.execute(stmt).scalar_one()

    def snippets(self, conn: Connection, clauses: Sequence[Clause], hits: Sequence[Ranked]) -> dict[str, str]:
        headline = func.ts_headline(_SIMPLE, _PG_INDEXED_TEXT, self._query(clauses), _HEADLINE_OPTIONS)
        ids = [h.doc_id for h in hits]
        return {doc_id: snippet for doc_id, snippet in conn.execute(select(_DOCS.c.id, headline).where(_DOCS.c.id.in_(ids)))}


BACKENDS: dict[str, Backend] = {"sqlite": SqliteBackend(), "postgresql": PostgresBackend()}


def backend_for(dialect: str) -> Backend:
    try:
        return BACKENDS[dialect]
    except KeyError:
        raise NotImplementedError(f"no full-text search for the {dialect} database") from None


# --------------------------------------------------------------------------- search
def search(conn: Connection, query: str, filters: Filters = Filters(), limit: int = 20, offset: int = 0) -> SearchPage:
    """One page of the documents matching every word and phrase of `query`, best first."""
    limit, offset = min(max(limit, 1), MAX_LIMIT), max(offset, 0)
    clauses = parse(query)
    if not clauses:  # nothing searchable (only punctuation): nothing matches
        return SearchPage(total=0, hits=[], next_offset=None)
    backend = backend_for(conn.dialect.name)
    where = _conditions(filters)
    ranked, total = backend.page(conn, clauses, where, limit, offset)
    if total is None:  # an empty page: past the end, or no hits at all
        total = backend.count(conn, clauses, where) if offset else 0
    ids = [h.doc_id for h in ranked]
    raw = backend.snippets(conn, clauses, ranked) if ranked else {}
    rows = {r.id: r for r in conn.execute(
        select(_DOCS.c.id, _DOCS.c.result_code, _DOCS.c.doc_type, _DOCS.c.branch, _DOCS.c.created_at,
               _DOCS.c.verification_status, _DOCS.c.needs_review,
               _DOCS.c.result["text"].as_string().label("text"), _DOCS.c.result["fields"].label("fields"))
        .where(_DOCS.c.id.in_(ids)))}
    hits = [_hit(rows[h.doc_id], h.score, raw.get(h.doc_id, "")) for h in ranked if h.doc_id in rows]
    end = offset + len(ranked)
    return SearchPage(total=total, hits=hits, next_offset=end if end < total else None)


def _conditions(f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if f.doc_type is not None:
        where.append(_DOCS.c.doc_type == f.doc_type)
    if f.branch is not None:
        where.append(_DOCS.c.branch == f.branch)
    if f.verification_status is not None:
        where.append(_DOCS.c.verification_status == f.verification_status)
    if f.needs_review is not None:
        where.append(_DOCS.c.needs_review == f.needs_review)
    if f.created_from is not None:
        where.append(_DOCS.c.created_at >= _utc(f.created_from))
    if f.created_to is not None:
        where.append(_DOCS.c.created_at < _utc(f.created_to))
    return where


def _utc(moment: datetime) -> datetime:
    # SQLite keeps the UTC wall time without an offset and compares text, so every bound is UTC
    # (a naive bound is taken to be UTC already).
    try:
        return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except OverflowError:  # 0001-01-01 in UTC+7 is in year 0: the bound is the calendar's end
        return (datetime.min if moment.year == datetime.min.year else datetime.max).replace(tzinfo=UTC)


def _hit(row: Row, score: float, raw_snippet: str) -> Hit:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Hit(result_code=row.result_code, doc_type=row.doc_type, branch=row.branch, created_at=created,
               verification_status=row.verification_status, needs_review=bool(row.needs_review),
               score=score, snippet=snippet_html(raw_snippet, row.text or "", row.fields or {}))


# --------------------------------------------------------------------------- snippets
@dataclass(frozen=True)
class _Token:
    start: int  # in the NFC original text
    end: int


class _FoldTable(dict):
    """str.translate table for fold_char, filled as characters are met: folding a document's
    text runs in C instead of a Python loop per character."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def snippet_html(raw: str, text_: str, fields: Mapping[str, object]) -> str:
    """The database's snippet (of folded text) shown on the document's original text.

    The snippet's token sequence is looked up in the original folded as it was indexed; where
    found, that stretch of the original is shown with the same tokens marked. Anything that does
    not line up falls back to the folded snippet itself: never wrong text, only plainer.
    """
    marked = _marked_tokens(raw)
    # What the pipeline folded into search_text (sohoa.pipeline._document_row).
    original = nfc(" ".join([text_, *map(str, fields.values())]))
    folded, origin = _fold_with_origin(original)
    tokens = _TOKEN.findall(folded)
    at = _find([t for t, _ in marked], tokens)
    if at is None:
        return _render_raw(raw)
    matches = islice(_TOKEN.finditer(folded), at, at + len(marked))
    window = [_Token(*_span(m.start(), m.end(), origin, original)) for m in matches]
    return _render(original, window, [m for _, m in marked], at > 0, at + len(marked) < len(tokens))


def _marked_tokens(raw: str) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    inside = False
    for piece in _MARKERS.split(raw):
        if piece in (_OPEN, _CLOSE):
            inside = piece == _OPEN
        else:
            out.extend((t, inside) for t in _TOKEN.findall(piece))
    return out


def _fold_with_origin(original: str) -> tuple[str, list[int] | None]:
    """fold(original), and for each folded character the index of the character it came from;
    None when the two line up one to one (every character folds to one: NFC text without stray
    combining marks, i.e. nearly always)."""
    folded = original.translate(_FOLD)
    if len(folded) == len(original):
        return folded, None
    origin = [i for i, ch in enumerate(original) for _ in _FOLD[ord(ch)]]
    return folded, origin


def _find(needle: list[str], haystack: list[str]) -> int | None:
    """Index of the first run of `needle` in `haystack`."""
    if not needle:
        return None
    first, n = needle[0], len(needle)
    for i in range(len(haystack) - n + 1):
        if haystack[i] == first and haystack[i:i + n] == needle:
            return i
    return None


def _span(start: int, end: int, origin: list[int] | None, original: str) -> tuple[int, int]:
    if origin is None:
        return start, end
    stop = origin[end - 1] + 1
    while stop < len(original) and not _FOLD[ord(original[stop])]:  # a stray mark stays with its letter
        stop += 1
    return origin[start], stop


def _render(original: str, window: list[_Token], marks: list[bool], before: bool, after: bool) -> str:
    # Marked tokens separated by spaces only share one <mark>: a phrase reads the same whether the
    # database marked it whole (FTS5) or word by word (ts_headline).
    out = ["… "] if before else []
    inside = False
    for j, tok in enumerate(window):
        if j:
            gap = original[window[j - 1].end:tok.start]
            if inside and not (marks[j] and not gap.strip()):
                out.append("</mark>")
                inside = False
            out.append(_spaces(gap))
        if marks[j] and not inside:
            out.append("<mark>")
            inside = True
        out.append(html.escape(original[tok.start:tok.end]))
    out.append("</mark>" if inside else "")
    if after:
        out.append(" …")
    return "".join(out)


def _render_raw(raw: str) -> str:
    escaped = _spaces(raw)
    return escaped.replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def _spaces(s: str) -> str:
    return html.escape(_WHITESPACE.sub(" ", s))


# --------------------------------------------------------------------------- schema
_OUTSIDE_METADATA_COLUMNS = {("documents", "search_vector")}
_OUTSIDE_METADATA_INDEXES = {"ix_documents_search_vector"}


def outside_metadata(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """True for the schema objects of migration 0005 that SQLAlchemy's metadata cannot describe:
    on SQLite the FTS5 table, its shadow tables (documents_fts_data, …) and documents_fts_ids; on
    PostgreSQL the generated tsvector column and its GIN index. Schema comparisons skip them."""
    if name is None:
        return False
    if type_ == "table":
        return name == "documents_fts" or name.startswith("documents_fts_")
    if type_ == "column":
        return (parent_names.get("table_name"), name) in _OUTSIDE_METADATA_COLUMNS
    if type_ == "index":
        return name in _OUTSIDE_METADATA_INDEXES
    return False


__all__ = ["MAX_LIMIT", "Filters", "Hit", "SearchPage", "backend_for", "outside_metadata", "parse", "search",
           "snippet_html"]
