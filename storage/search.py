"""Archivists' full-text search over stored documents: one interface, two backends.

Both backends index `documents.search_text`, which the pipeline already folds (no tone or vowel
marks, đ→d, lower case), and the query is folded the same way, so "Đà Nẵng" and "da nang" are the
same search. On SQLite an FTS5 table (`documents_fts`) is kept in sync by triggers; on PostgreSQL a
generated `tsvector` column with a GIN index. Both are made by migration 0005 and both split text
into tokens at every character that is not a letter or a digit, so a query means the same thing on
either database. Migration 0008 puts the filters in the index on SQLite (a `facets` column of
tokens, part of the MATCH) and, on PostgreSQL, the pairs of adjacent words (`search_bigrams`) that
a phrase must hold, and B-tree indexes on the filtered columns. See docs/search.md.

User text never reaches SQL or a MATCH/tsquery parser as written: it is cut into letter-and-digit
tokens here and the engine's query is assembled from those tokens alone, so operators such as
OR, NEAR(, *, quotes or dashes in the input are only ever words or separators.
"""

from __future__ import annotations

import heapq
import html
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import islice, pairwise, takewhile
from typing import NamedTuple, Protocol

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import (
    CTE,
    ColumnElement,
    Connection,
    Integer,
    Row,
    Select,
    String,
    Text,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
)
from sqlalchemy.dialects.postgresql import TSQUERY

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
                                     "escaped, with the matches in <mark></mark>; the folded text when the printed "
                                     "text does not hold them (docs/search.md)")


@dataclass(frozen=True)
class SearchPage:
    total: int  # every matching document, not only this page's; a lower bound when not total_exact
    hits: list[Hit]
    next_offset: int | None  # None on the last page
    total_exact: bool = True  # False: more than the backend's count_cap match, and `total` is count_cap

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


def fts5_query(clauses: Sequence[Clause], facets: Sequence[Sequence[str]] = ()) -> str:
    # Every clause double-quoted: FTS5 reads it as a phrase (a lone token is a one-word phrase),
    # never as an operator; tokens hold only letters and digits, so no quote can be inside. User
    # words are confined to the `body` column; the `facets` column (migration 0008) holds the filter
    # values: each group is tokens of which one must be there (a doc type; the days of a range).
    words = ['body : "' + " ".join(c) + '"' for c in clauses]
    groups = ["facets : (" + " OR ".join(f'"{t}"' for t in group) + ")" for group in facets]
    return " AND ".join(words + groups)


def tsquery(clauses: Sequence[Clause]) -> str:
    # Each lexeme single-quoted for to_tsquery; <-> is "followed by", the phrase operator.
    return " & ".join("(" + " <-> ".join(f"'{t}'" for t in c) + ")" for c in clauses)


# A pair lexeme of `search_bigrams` holds at most this many bytes (migration 0008 leaves longer out).
_MAX_PAIR_BYTES = 1998


def bigram_tsquery(clauses: Sequence[Clause]) -> str | None:
    """Every pair of adjacent tokens of the query's phrases, as lexemes of `search_bigrams`
    (migration 0008), ANDed: a document matching the phrases holds them all. None without a phrase."""
    pairs = sorted({f"{a}_{b}" for c in clauses for a, b in pairwise(c)
                    if len(a.encode()) + len(b.encode()) <= _MAX_PAIR_BYTES})
    return " & ".join(f"'{p}'" for p in pairs) or None


# --------------------------------------------------------------------------- filters as facet tokens
# The tokens of the `facets` column of documents_fts (SQLite; migration 0008 makes them in SQL the
# same way): values hex-encoded, so that any value is one letters-and-digits token.
def _hex(value: str) -> str:
    return value.encode().hex()


def facet_tokens(f: Filters) -> list[list[str]]:
    """The facet groups of the filters other than the dates, one token each."""
    groups = []
    if f.doc_type is not None:
        groups.append([f"t{_hex(f.doc_type)}"])
    if f.branch is not None:
        groups.append([f"b{_hex(f.branch)}"])
    if f.verification_status is not None:
        groups.append([f"s{_hex(f.verification_status)}"])
    if f.needs_review is not None:
        groups.append([f"r{int(f.needs_review)}"])
    return groups


def period_tokens(first: date, end: date) -> list[str]:
    """The days first … end - 1 (Vietnam time) as the fewest whole years (y2026), months (m202603)
    and days (d20260316)."""
    tokens, d = [], first
    while d < end:
        next_month = date(d.year + d.month // 12, d.month % 12 + 1, 1) if d < date(9999, 12, 1) else date.max
        if d.month == 1 and d.day == 1 and d.year < 9999 and date(d.year + 1, 1, 1) <= end:
            tokens.append(f"y{d.year:04d}")
            d = date(d.year + 1, 1, 1)
        elif d.day == 1 and next_month <= end:
            tokens.append(f"m{d.year:04d}{d.month:02d}")
            d = next_month
        else:
            tokens.append(f"d{d.year:04d}{d.month:02d}{d.day:02d}")
            if d == date.max:
                break
            d += timedelta(days=1)
    return tokens


_VN_OFFSET = timedelta(hours=7)  # Vietnam has kept UTC+7, without summer time, since 1975
_NOTHING = ["d0"]  # a facet token no document has


# --------------------------------------------------------------------------- the backends
class Ranked(NamedTuple):  # a tuple: a band makes thousands of them per search
    key: int | str  # how the backend names a match: FTS5 rowid (SQLite), document id (PostgreSQL)
    score: float


class Backend(Protocol):
    # Matches are ranked in bands of this many, newest first (see search()): the work of a page is
    # bounded by the bands it touches, however many documents match.
    band_size: int
    # `total` is counted exactly up to this many matches; above, it is this number and
    # `total_exact` is false. Counting stops there: the work stays bounded.
    count_cap: int

    def band(self, conn: Connection, clauses: Sequence[Clause], filters: Filters,
             skip: int, rows: int) -> tuple[list[Ranked], int | None]:
        """Matches number skip+1 … skip+rows in the backend's candidate order (newest first), each
        with its score; and, when the backend counts them on the way, how many match, counted up to
        count_cap + 1 (else None)."""

    def count(self, conn: Connection, clauses: Sequence[Clause], filters: Filters) -> int:
        """How many match, counted up to count_cap + 1."""

    def rows(self, conn: Connection, keys: Sequence[int | str], *columns: ColumnElement) -> dict[int | str, Row]:
        """`columns` of the documents of these matches, by match key."""


_DOCS = DocumentRow.__table__
_FTS = table("documents_fts", column("rowid", Integer), column("body", Text), column("facets", Text))
_IDS = table("documents_fts_ids", column("fts_rowid", Integer), column("doc_id", String))
_FTS_NAME = literal_column("documents_fts")  # FTS5's auxiliary functions take the table itself


class SqliteBackend:
    """FTS5: `documents_fts(body, facets)` and `documents_fts_ids(fts_rowid, doc_id)`, filled by
    triggers (migrations 0005, 0008).

    The FTS5 rowid grows with every document indexed, and FTS5 walks a query's matches in rowid
    order, backwards as cheaply as forwards, stopping at a LIMIT: "the newest N matches" costs N
    steps however many documents match. bm25() is computed for those N only. Filters are tokens of
    the `facets` column, part of the MATCH: FTS5 intersects them with the words in the index."""

    # bm25() costs ~3 µs a match (it reads the match's positions from the index).
    band_size = 2000
    # Counting walks the index only (~0.1 µs a match): up to the API's largest offset, so that every
    # page it serves can be counted to.
    count_cap = 10_000

    def _matches(self, conn: Connection, clauses: Sequence[Clause], filters: Filters, *columns: ColumnElement) -> Select:
        facets, where = self._facets(conn, filters)
        match = text("documents_fts MATCH :fts_query").bindparams(fts_query=fts5_query(clauses, facets))
        # Newest first. The order also keeps FTS5 the outer loop when a filter is tested row by row:
        # the planner then looks each match's document up by primary key, where without it, it may
        # walk the documents of a type (ix_documents_doc_type) and run the full-text query for each.
        stmt = select(*columns).select_from(_FTS).where(match).order_by(_FTS.c.rowid.desc())
        if where:
            stmt = stmt.join(_IDS, _IDS.c.fts_rowid == _FTS.c.rowid).join(_DOCS, _DOCS.c.id == _IDS.c.doc_id).where(*where)
        return stmt

    @staticmethod
    def _facets(conn: Connection, f: Filters) -> tuple[list[list[str]], list[ColumnElement[bool]]]:
        """The filters as facet groups of the MATCH, and what is left to test on the document row: a
        bound of the date range that is not a Vietnam midnight (the API and the CLI only make those)."""
        groups = facet_tokens(f)
        if f.created_from is None and f.created_to is None:
            return groups, []
        lo = _utc(f.created_from) if f.created_from is not None else None
        hi = _utc(f.created_to) if f.created_to is not None else None
        # An open end, or one beyond the first or last document stored, is the day of that document:
        # a range is then the years, months and days the archive holds, not the calendar's.
        first, last = conn.execute(select(select(func.min(_DOCS.c.created_at)).scalar_subquery(),
                                          select(func.max(_DOCS.c.created_at)).scalar_subquery())).one()
        if first is None:  # no document at all
            return groups, []
        first, last = (d if d.tzinfo else d.replace(tzinfo=UTC) for d in (first, last))
        lo = None if lo is not None and lo <= first else lo
        hi = None if hi is not None and hi > last else hi
        try:
            days = [(bound + _VN_OFFSET).replace(tzinfo=None) for bound in (lo, hi) if bound is not None]
            if any(d.time() != datetime.min.time() for d in days):
                return groups, _date_conditions(f)
            start = (lo + _VN_OFFSET).date() if lo is not None else (first + _VN_OFFSET).date()
            end = (hi + _VN_OFFSET).date() if hi is not None else (last + _VN_OFFSET).date() + timedelta(days=1)
        except OverflowError:  # within hours of the calendar's ends
            return groups, _date_conditions(f)
        if lo is None and hi is None:
            return groups, []
        return [*groups, period_tokens(start, end) or _NOTHING], []

    def band(self, conn: Connection, clauses: Sequence[Clause], filters: Filters,
             skip: int, rows: int) -> tuple[list[Ranked], int | None]:
        # bm25: lower is better. The facets column weighs 0: only the user's words score.
        stmt = (self._matches(conn, clauses, filters, _FTS.c.rowid, func.bm25(_FTS_NAME, 1.0, 0.0))
                .limit(rows).offset(skip))
        return [Ranked(rowid, -rank) for rowid, rank in conn.execute(stmt).all()], None

    def count(self, conn: Connection, clauses: Sequence[Clause], filters: Filters) -> int:
        capped = self._matches(conn, clauses, filters, _FTS.c.rowid).limit(self.count_cap + 1).subquery()
        return conn.execute(select(func.count()).select_from(capped)).scalar_one()

    def rows(self, conn: Connection, keys: Sequence[int | str], *columns: ColumnElement) -> dict[int | str, Row]:
        stmt = (select(_IDS.c.fts_rowid.label("key"), *columns).join_from(_IDS, _DOCS, _DOCS.c.id == _IDS.c.doc_id)
                .where(_IDS.c.fts_rowid.in_(keys)))
        return {r.key: r for r in conn.execute(stmt)}


_VECTOR = literal_column("documents.search_vector")
_BIGRAMS = literal_column("documents.search_bigrams")
_SIMPLE = literal_column("'simple'::regconfig")


class PostgresBackend:
    """A generated tsvector column `documents.search_vector` ('simple' configuration) with a GIN index
    (migration 0005); for phrases, `documents.search_bigrams`, the pairs of adjacent words, with a
    GIN index too, and B-tree indexes on the filtered columns (migration 0008).

    One statement: the GIN index finds the matches, of which at most count_cap + 1 are taken (their
    id and date: no tsvector is read unless a phrase needs its positions checked); they are counted,
    the band is cut from them newest first, and only the band's tsvectors are read and ranked."""

    # ts_rank_cd() costs ~20 µs a match: it reads the document's tsvector back from TOAST.
    band_size = 500
    # Each match counted is a table row visited (1–10 µs, a page each when a filter is selective):
    # 10,000 of them cost 10–100 ms at 100,000 documents. Pages stop after count_cap + 1 matches.
    count_cap = 2000

    @classmethod
    def _found(cls, clauses: Sequence[Clause], filters: Filters, query: ColumnElement) -> CTE:
        """The matches (at most count_cap + 1): id, date and tsvector. With a phrase, in two steps:
        the documents holding its word pairs (and the query's single words) that pass the filters,
        from the indexes and the table row alone; then, of those only, the phrase's positions on
        the tsvector. Else the planner checks the positions first, for every document with the
        pairs, and filters after: 2,900 tsvectors read from TOAST for 400 in a branch."""
        cap = cls.count_cap + 1
        docs = select(_DOCS.c.id, _DOCS.c.created_at, _VECTOR.label("vector"))
        pairs = bigram_tsquery(clauses)
        if pairs is None:
            return (docs.where(_VECTOR.op("@@")(query), *_conditions(filters)).limit(cap)
                    .cte("found").prefix_with("MATERIALIZED"))
        words = [c for c in clauses if len(c) == 1]
        # lower(): the 'simple' dictionary lowered the stored pair lexemes.
        narrowing = [_BIGRAMS.op("@@")(cast(func.lower(literal(pairs, Text)), TSQUERY)), *_conditions(filters)]
        if words:
            narrowing.append(_VECTOR.op("@@")(func.to_tsquery(_SIMPLE, tsquery(words))))
        candidates = docs.where(*narrowing).cte("candidates").prefix_with("MATERIALIZED")
        return (select(candidates).where(candidates.c.vector.op("@@")(query)).limit(cap)
                .cte("found").prefix_with("MATERIALIZED"))

    def band(self, conn: Connection, clauses: Sequence[Clause], filters: Filters,
             skip: int, rows: int) -> tuple[list[Ranked], int | None]:
        query = func.to_tsquery(_SIMPLE, tsquery(clauses))
        found = self._found(clauses, filters, query)
        total = select(func.count().label("total")).select_from(found).subquery()
        band = (select(found).order_by(found.c.created_at.desc(), found.c.id.desc())
                .limit(rows).offset(skip).subquery())
        # Normalisation 1: divide by 1 + log(length), so long documents do not win by size alone
        # (bm25 on SQLite normalises by length too).
        score = func.ts_rank_cd(band.c.vector, query, 1)
        stmt = (select(total.c.total, band.c.id, score.label("score"))
                .select_from(total.outerjoin(band, literal_column("true")))
                .order_by(band.c.created_at.desc(), band.c.id.desc()))
        result = _through_gin(conn, stmt)
        return [Ranked(r.id, float(r.score)) for r in result if r.id is not None], result[0].total

    def count(self, conn: Connection, clauses: Sequence[Clause], filters: Filters) -> int:
        # Not called by search(), which has the count from band(); for completeness.
        found = self._found(clauses, filters, func.to_tsquery(_SIMPLE, tsquery(clauses)))
        return _through_gin(conn, select(func.count()).select_from(found))[0][0]

    def rows(self, conn: Connection, keys: Sequence[int | str], *columns: ColumnElement) -> dict[int | str, Row]:
        return {r.key: r for r in conn.execute(select(_DOCS.c.id.label("key"), *columns).where(_DOCS.c.id.in_(keys)))}


def _through_gin(conn: Connection, stmt: Select) -> list[Row]:
    """Runs `stmt` with sequential scans off. With a LIMIT in sight the planner would rather read the
    table in order until enough rows pass, not costing that `@@` on a table row must first read its
    tsvector back from TOAST: for a phrase or a rare word, that is the whole table (0.4–0.5 s at
    100,000 documents). set_config(…, true) lasts to the end of the transaction: the previous value
    is put back after the statement."""
    previous = conn.execute(text("SELECT current_setting('enable_seqscan'), "
                                 "set_config('enable_seqscan', 'off', true)")).scalar_one()
    try:
        return conn.execute(stmt).all()
    finally:
        conn.execute(text("SELECT set_config('enable_seqscan', :previous, true)"), {"previous": previous})


BACKENDS: dict[str, Backend] = {"sqlite": SqliteBackend(), "postgresql": PostgresBackend()}


def backend_for(dialect: str) -> Backend:
    try:
        return BACKENDS[dialect]
    except KeyError:
        raise NotImplementedError(f"no full-text search for the {dialect} database") from None


# --------------------------------------------------------------------------- search
def search(conn: Connection, query: str, filters: Filters = Filters(), limit: int = 20, offset: int = 0) -> SearchPage:
    """One page of the documents matching every word and phrase of `query`, best first.

    The matches are ranked in bands, newest first: the newest `band_size` matches (2,000 on
    SQLite, 500 on PostgreSQL) ordered by score, then the next `band_size`, and so on — one band
    when fewer match, as for most names, numbers and phrases. A page costs the bands it touches,
    not every match: a word found in most documents is as quick as a rare one. `total` is exact up
    to the backend's `count_cap` (10,000 on SQLite, 2,000 on PostgreSQL); above, it is `count_cap`
    and `total_exact` is false.
    """
    limit, offset = min(max(limit, 1), MAX_LIMIT), max(offset, 0)
    clauses = parse(query)
    if not clauses:  # nothing searchable (only punctuation): nothing matches
        return SearchPage(total=0, hits=[], next_offset=None)
    backend = backend_for(conn.dialect.name)
    size = backend.band_size
    first_band, last_band = offset // size, (offset + limit - 1) // size
    skip, rows = first_band * size, (last_band - first_band + 1) * size
    band, counted = backend.band(conn, clauses, filters, skip, rows)
    if counted is None and len(band) < rows and (band or not skip):
        total, exact = skip + len(band), True  # the last band: it tells the total
    else:
        counted = backend.count(conn, clauses, filters) if counted is None else counted
        cap = backend.count_cap
        total, exact = (counted, True) if counted <= cap else (max(cap, skip + len(band)), False)
    # Within a band: score, then the candidate order (newer first) — fixed for the database.
    order = heapq.nsmallest(offset - skip + limit, range(len(band)), key=lambda i: (i // size, -band[i].score, i))
    ranked = [band[i] for i in order[offset - skip:]]
    hits = _hits(conn, backend, clauses, ranked)
    end = offset + len(ranked)
    more = end < total if exact else len(ranked) == limit
    return SearchPage(total=total, hits=hits, next_offset=end if more else None, total_exact=exact)


def _hits(conn: Connection, backend: Backend, clauses: Sequence[Clause], ranked: list[Ranked]) -> list[Hit]:
    if not ranked:
        return []
    rows = backend.rows(conn, [r.key for r in ranked], _DOCS.c.id, _DOCS.c.result_code, _DOCS.c.doc_type,
                        _DOCS.c.branch, _DOCS.c.created_at, _DOCS.c.verification_status, _DOCS.c.needs_review,
                        _DOCS.c.result["text"].as_string().label("text"), _DOCS.c.result["fields"].label("fields"))
    found = [(r, rows[r.key]) for r in ranked if r.key in rows]
    snippets = {row.id: _snippet(clauses, *_shown(row.text or "", row.fields or {})) for _, row in found}
    # Rarely (search_text edited by hand), the printed text lacks the words the index matched:
    # only then is the stored search_text read.
    unaligned = [row for _, row in found if snippets[row.id] is None]
    if unaligned:
        stored = dict(conn.execute(select(_DOCS.c.id, _DOCS.c.search_text)
                                   .where(_DOCS.c.id.in_([row.id for row in unaligned]))).all())
        for row in unaligned:
            snippets[row.id] = snippet_html(clauses, row.text or "", row.fields or {}, stored.get(row.id) or "")
    return [_hit(row, r.score, snippets[row.id] or "") for r, row in found]


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
    return where + _date_conditions(f)


def _date_conditions(f: Filters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
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


def _hit(row: Row, score: float, snippet: str) -> Hit:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    return Hit(result_code=row.result_code, doc_type=row.doc_type, branch=row.branch, created_at=created,
               verification_status=row.verification_status, needs_review=bool(row.needs_review),
               score=score, snippet=snippet)


# --------------------------------------------------------------------------- snippets
# Made here, not by the database (FTS5 snippet(), ts_headline): from the text as printed, for the
# page's hits only, the same on both databases, and without a second full-text query.
@dataclass(frozen=True)
class _Token:
    start: int  # in the shown text
    end: int


class _FoldTable(dict):
    """str.translate table for fold_char, filled as characters are met: folding a document's
    text runs in C instead of a Python loop per character."""

    def __missing__(self, code: int) -> str:
        self[code] = folded = fold_char(chr(code))
        return folded


_FOLD = _FoldTable()


def snippet_html(clauses: Sequence[Clause], text_: str, fields: Mapping[str, object], search_text: str = "") -> str:
    """About SNIPPET_TOKENS words of a document around its matches for `clauses`, as HTML: the text
    as printed (diacritics and case), escaped, the matched words in <mark></mark>, "…" where text
    was left out.

    The document's text and field values are folded and cut into tokens as the pipeline and the
    index do (its `search_text`), so a word matches here exactly when it matched in the database.
    Should the printed text not hold every word and phrase (search_text was changed by hand), the
    snippet is of `search_text` itself: folded, never wrong, only plainer; should neither, the
    printed text with what it holds marked.
    """
    shown = _shown(text_, fields)
    return (_snippet(clauses, *shown) or _snippet(clauses, search_text, search_text, None)
            or _snippet(clauses, *shown, require_all=False) or "")


def _shown(text_: str, fields: Mapping[str, object]) -> tuple[str, str, list[int] | None]:
    # What the pipeline folded into search_text (sohoa.pipeline._document_row).
    original = nfc(" ".join([text_, *map(str, fields.values())]))
    return original, *_fold_with_origin(original)


def _fold_with_origin(original: str) -> tuple[str, list[int] | None]:
    """fold(original), and for each folded character the index of the character it came from;
    None when the two line up one to one (every character folds to one: NFC text without stray
    combining marks, i.e. nearly always)."""
    folded = original.translate(_FOLD)
    if len(folded) == len(original):
        return folded, None
    origin = [i for i, ch in enumerate(original) for _ in _FOLD[ord(ch)]]
    return folded, origin


def _snippet(clauses: Sequence[Clause], shown: str, folded: str, origin: list[int] | None,
             require_all: bool = True) -> str | None:
    """The snippet of `shown`, whose folded form is `folded` (`origin` maps one to the other);
    None when some clause does not occur in it and `require_all`."""
    words = _TOKEN.findall(folded)
    found = _occurrences(clauses, words)
    if require_all and len({k for *_, k in found}) < len(clauses):
        return None
    start = _window(found, len(words))
    stop = min(start + SNIPPET_TOKENS, len(words))
    marked = [False] * (stop - start)
    for at, n, _ in found:
        for i in range(max(at, start), min(at + n, stop)):
            marked[i - start] = True
    # Where the window's tokens are: only they are located (the text is 1–2 KB, the window 24 words).
    window = [_Token(*_span(m.start(), m.end(), origin, shown)) for m in islice(_TOKEN.finditer(folded), start, stop)]
    return _render(shown, window, marked, start > 0, stop < len(words))


def _occurrences(clauses: Sequence[Clause], words: list[str]) -> list[tuple[int, int, int]]:
    """(first token, tokens, clause) of every occurrence of a clause: its tokens adjacent, in order."""
    firsts: dict[str, list[int]] = {c[0]: [] for c in clauses}
    for i, w in enumerate(words):
        if w in firsts:
            firsts[w].append(i)
    found = [(i, len(c), k) for k, c in enumerate(clauses) for i in firsts[c[0]]
             if tuple(words[i:i + len(c)]) == c]
    return sorted(found)


def _window(found: list[tuple[int, int, int]], n_words: int) -> int:
    """First token of the SNIPPET_TOKENS-token window showing the most distinct clauses, then the
    most occurrences (the earliest such window), with its occurrences centred in it."""
    best, best_start = (-1, -1), 0
    for j, (first, _, _) in enumerate(found):
        # `found` is sorted: the walk stops at the first occurrence starting past the window.
        end = first + SNIPPET_TOKENS
        inside = [f for f in takewhile(lambda f, end=end: f[0] < end, islice(found, j, None)) if f[0] + f[1] <= end]
        inside = inside or [found[j]]  # a phrase longer than the window: its start
        score = (len({k for *_, k in inside}), len(inside))
        if score > best:
            last = max(at + n for at, n, _ in inside)
            best, best_start = score, first - max(0, SNIPPET_TOKENS - (last - first)) // 2
    return max(0, min(best_start, n_words - SNIPPET_TOKENS))


def _span(start: int, end: int, origin: list[int] | None, original: str) -> tuple[int, int]:
    if origin is None:
        return start, end
    stop = origin[end - 1] + 1
    while stop < len(original) and not _FOLD[ord(original[stop])]:  # a stray mark stays with its letter
        stop += 1
    return origin[start], stop


def _render(original: str, window: list[_Token], marks: list[bool], before: bool, after: bool) -> str:
    # Marked tokens separated by spaces only share one <mark>: a phrase reads as one. At either
    # end of the text, what surrounds the first or last word is shown too ("(", "."); inside it,
    # "…" stands for what was left out. Text is escaped a stretch at a time, not a token at a time
    # (the cost of a snippet): tokens hold no whitespace, so no run of it is cut in two.
    if not window:
        return _spaces(original.strip())
    out = ["… "] if before else [_spaces(original[:window[0].start].lstrip())]
    shown_to = window[0].start
    j = 0
    while j < len(window):
        if not marks[j]:
            j += 1
            continue
        last = j
        while (last + 1 < len(window) and marks[last + 1]
               and not original[window[last].end:window[last + 1].start].strip()):
            last += 1
        out += [_spaces(original[shown_to:window[j].start]), "<mark>",
                _spaces(original[window[j].start:window[last].end]), "</mark>"]
        shown_to, j = window[last].end, last + 1
    out.append(_spaces(original[shown_to:window[-1].end]))
    out.append(" …" if after else _spaces(original[window[-1].end:].rstrip()))
    return "".join(out)


def _spaces(s: str) -> str:
    return html.escape(_WHITESPACE.sub(" ", s))


# --------------------------------------------------------------------------- schema
_OUTSIDE_METADATA_COLUMNS = {("documents", "search_vector")}
_OUTSIDE_METADATA_COLUMNS |= {("documents", "search_bigrams")}  # migration 0008
_OUTSIDE_METADATA_INDEXES = {"ix_documents_search_vector", "ix_documents_search_bigrams", "ix_documents_created_at",
                             "ix_documents_branch", "ix_documents_review"}


def outside_metadata(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """True for the schema objects of migrations 0005 and 0008 that SQLAlchemy's metadata does not
    describe: on SQLite the FTS5 table, its shadow tables (documents_fts_data, …), documents_fts_ids
    and the index on created_at; on PostgreSQL the generated tsvector columns, their GIN indexes and
    the B-tree indexes for the filters. Schema comparisons skip them."""
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
