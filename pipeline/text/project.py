"""The review project's file: its schema, opening it safely, and its hand codes.

A review project (``autocode review``, :mod:`pipeline.review`) is a folder holding
``project.sqlite``: the documents, their segments, the coders and every decision they made.
This module owns that file's format, so that every command that reads hand codes
(:func:`pipeline.text.codings.read_hand_codes`) accepts a project folder as it accepts a
hand-code file; the workbench itself writes through :mod:`pipeline.review.store`.

A decision is one row, never changed afterwards except for its ``undone`` mark: the
codes a coder gave a segment are those of their latest decision that is not undone.
``proposals_shown`` records whether the coder saw the model's proposals (assisted
coding); agreement counts blind decisions by default, since a coder who saw the
model's proposal is no longer an independent rater.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.codebook import Codebook
from pipeline.core.errors import InputError
from pipeline.core.io import PROJECT_DB
from pipeline.core.types import Coding, Transcript

DB_NAME = PROJECT_DB
FORMAT = "autocode-review"
VERSION = 1

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE documents (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    text TEXT NOT NULL,
    kind TEXT NOT NULL,
    encoding TEXT NOT NULL,
    units TEXT NOT NULL,          -- JSON [[unit_id, start, end], ...] of pre-segmented input
    cues TEXT NOT NULL,           -- JSON [[start, end, speaker], ...] of subtitle input
    sha256 TEXT NOT NULL,
    source TEXT NOT NULL,         -- the file it was read from
    added TEXT NOT NULL
);
CREATE TABLE segments (
    id TEXT PRIMARY KEY,
    document INTEGER NOT NULL REFERENCES documents(id),
    n INTEGER NOT NULL,           -- position in the document
    ord INTEGER NOT NULL DEFAULT 0,  -- position in the project (documents by name, then n)
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    speaker TEXT NOT NULL,
    role TEXT NOT NULL,
    codable INTEGER NOT NULL,
    text TEXT NOT NULL,
    UNIQUE (document, n)
);
CREATE INDEX segments_in_order ON segments (codable, ord);
CREATE TABLE coders (name TEXT PRIMARY KEY, added TEXT NOT NULL);
CREATE TABLE models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    path TEXT NOT NULL,           -- the model folder, relative to the project folder
    origin TEXT NOT NULL,         -- 'given' (--model) or 'trained' (in the background)
    status TEXT NOT NULL,         -- 'training', 'coding', 'ready' or 'failed'
    decisions INTEGER NOT NULL,   -- decisions in the project when its training started
    started TEXT NOT NULL,
    finished TEXT,
    cv TEXT,                      -- JSON: the cross-validated figures of its card
    error TEXT,
    pid INTEGER
);
CREATE TABLE decisions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    segment TEXT NOT NULL REFERENCES segments(id),
    coder TEXT NOT NULL REFERENCES coders(name),
    action TEXT NOT NULL CHECK (action IN ('code', 'skip')),
    codes TEXT NOT NULL,          -- JSON list of the codes given
    time TEXT NOT NULL,
    proposals_shown INTEGER NOT NULL,
    model INTEGER REFERENCES models(id),  -- the model whose proposals were shown
    proposed TEXT,                -- JSON list: the codes it proposed
    scores TEXT,                  -- JSON {code: score} it gave
    queue TEXT NOT NULL,
    source TEXT NOT NULL,         -- 'review', or the hand-code file it was imported from
    undone INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX decisions_by_coder ON decisions (coder, segment, undone);
CREATE INDEX decisions_by_segment ON decisions (segment);
CREATE TABLE proposals (
    model INTEGER NOT NULL REFERENCES models(id),
    segment TEXT NOT NULL REFERENCES segments(id),
    codes TEXT NOT NULL,          -- JSON list: what the model decides
    scores TEXT NOT NULL,         -- JSON {code: score}
    rank INTEGER,                 -- place in "what to code next" (NULL: not ranked)
    PRIMARY KEY (model, segment)
);
CREATE INDEX proposals_by_rank ON proposals (model, rank);
CREATE TABLE proposal_codes (
    model INTEGER NOT NULL,
    code TEXT NOT NULL,
    score REAL NOT NULL,
    segment TEXT NOT NULL
);
CREATE INDEX proposal_codes_by_score ON proposal_codes (model, code, score DESC);
"""

# The latest decision of each (segment, coder) that is not undone: the codes in force.
CURRENT = """
SELECT d.id, d.segment, d.coder, d.action, d.codes, d.proposals_shown, d.model, d.time,
       s.start, s.end, s.text, doc.name AS document
FROM decisions d
JOIN segments s ON s.id = d.segment
JOIN documents doc ON doc.id = s.document
WHERE d.id IN (SELECT MAX(id) FROM decisions WHERE undone = 0 AND action = 'code' GROUP BY segment, coder)
ORDER BY doc.name, s.n, d.coder
"""


def is_project(path: str | Path) -> bool:
    """Whether ``path`` is a review project folder."""
    return Path(path).is_dir() and (Path(path) / DB_NAME).is_file()


def _foreign(db: Path, found: str) -> InputError:
    return InputError(
        f"{db}: expected an autocode review project (a SQLite database made by 'autocode review'), found {found}. "
        "The file was not changed. Give another project folder, or restore the file from a backup."
    )


def connect(folder: str | Path, *, write: bool = False, timeout: float = 30.0) -> sqlite3.Connection:
    """Open a project's database after checking that it is one.

    The file is first opened read-only and checked (SQLite header, integrity, the
    ``meta`` table's format and version), so that a damaged or foreign file is reported and
    never changed; only then is it opened for writing (WAL journal, full sync: a decision
    acknowledged is on disk).

    Raises:
        InputError: the file is not a SQLite database, is damaged, or is not a review
            project of a version this autocode reads.
    """
    db = Path(folder) / DB_NAME
    try:
        with open(db, "rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise InputError(f"{db}: cannot be read ({exc.strerror}). Check the path and its permissions.") from None
    if header != b"SQLite format 3\x00":
        raise _foreign(db, "a file that is not a SQLite database")
    try:
        ro = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True, timeout=timeout)
        try:
            ok = ro.execute("PRAGMA quick_check").fetchone()[0]
            if ok != "ok":
                raise _foreign(db, f"a damaged database ({ok})")
            tables = {r[0] for r in ro.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if "meta" not in tables:
                raise _foreign(db, "a SQLite database of another program (no 'meta' table)")
            meta = dict(ro.execute("SELECT key, value FROM meta").fetchall())
        finally:
            ro.close()
    except sqlite3.DatabaseError as exc:
        raise _foreign(db, f"a damaged database ({exc})") from None
    if meta.get("format") != FORMAT:
        raise _foreign(db, f"format {meta.get('format')!r}")
    if meta.get("version") != str(VERSION):
        raise InputError(
            f"{db}: a review project of version {meta.get('version')}, but this autocode reads version {VERSION}. "
            "Open it with the autocode version that made it. The file was not changed."
        )
    con = sqlite3.connect(db, timeout=timeout, check_same_thread=False, isolation_level=None)
    con.row_factory = sqlite3.Row
    if write:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA synchronous = FULL")
    con.execute("PRAGMA foreign_keys = ON")
    return con


def transcript_of(row) -> Transcript:
    """The :class:`Transcript` a ``documents`` row stores (as it was read, offsets intact)."""
    return Transcript(
        row["name"],
        row["text"],
        path=row["source"],
        kind=row["kind"],
        encoding=row["encoding"],
        units=tuple(tuple(u) for u in json.loads(row["units"])),
        cues=tuple(tuple(c) for c in json.loads(row["cues"])),
    )


@dataclass(frozen=True)
class ProjectCodes:
    """A project's hand codes in the form :func:`pipeline.text.codings.read_hand_codes` returns.

    Attributes:
        transcripts: Document name → document, for every document a coder decided in.
        codings: Each code in force as a span over its segment.
        coverage: Coder → document → the segment ids the coder decided (with or without
            codes): only these count, the rest of a document is not coded yet.
        assisted_left_out: Decisions in force left out because the coder saw proposals.
        decisions: Decisions in force (segment and coder pairs) before any was left out.
    """

    transcripts: dict[str, Transcript]
    codings: tuple[Coding, ...]
    coverage: dict[str, dict[str, frozenset[str]]]
    assisted_left_out: int
    decisions: int


def project_codes(folder: str | Path, *, assisted: bool = True) -> ProjectCodes:
    """Read the codes in force in a project: the latest decision (not undone) of each
    coder on each segment.

    Args:
        folder: The project folder.
        assisted: Whether decisions made with the model's proposals shown count; False
            (agreement's default) keeps the blind ones only.
    """
    con = connect(folder)
    try:
        rows = con.execute(CURRENT).fetchall()
        where = f"{Path(folder) / DB_NAME}"
        codings: list[Coding] = []
        coverage: dict[str, dict[str, set[str]]] = {}
        used: set[str] = set()
        left_out = 0
        for r in rows:
            if r["proposals_shown"] and not assisted:
                left_out += 1
                continue
            coverage.setdefault(r["coder"], {}).setdefault(r["document"], set()).add(r["segment"])
            used.add(r["document"])
            for code in json.loads(r["codes"]):
                codings.append(Coding(r["document"], r["start"], r["end"], code, r["coder"], f"{where}: decision {r['id']}"))
        transcripts = {}
        for row in con.execute("SELECT * FROM documents ORDER BY name"):
            if row["name"] in used:
                transcripts[row["name"]] = transcript_of(row)
    finally:
        con.close()
    frozen = {c: {d: frozenset(ids) for d, ids in docs.items()} for c, docs in coverage.items()}
    return ProjectCodes(transcripts, tuple(codings), frozen, left_out, len(rows))


def project_codebook(paths) -> Codebook | None:
    """The code system of the review projects among ``paths`` (hand-code inputs), or None
    where there is none: what a command uses when no ``--codebook`` is given, since a
    project's decisions are made in its own code system.

    Raises:
        InputError: two projects with different code systems (give ``--codebook``).
    """
    import yaml

    from pipeline.core.codebook import codebook_from_dict

    found = None
    for path in paths:
        if not is_project(path):
            continue
        con = connect(path)
        try:
            text = con.execute("SELECT value FROM meta WHERE key = 'codebook'").fetchone()[0]
        finally:
            con.close()
        book = codebook_from_dict(yaml.safe_load(text), source=str(Path(path) / DB_NAME))
        if found is not None and book.leaf_ids != found.leaf_ids:
            raise InputError(f"the review projects {found.source} and {book.source} have different code systems; "
                             "expected one. Give the code system to use with --codebook.")
        found = found or book
    return found
