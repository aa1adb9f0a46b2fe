"""A review project on disk: documents, segments, coders, decisions and models in one
SQLite file (:mod:`pipeline.text.project` owns its schema), plus the models trained for it.

Every write is one short transaction (``BEGIN IMMEDIATE``); the database runs in WAL mode
with full sync, so a decision that was answered is on disk, also when the server is
killed, and several coders (and the background training) can write at once. The server
shares one :class:`Project` between its threads; each thread has its own connection
(SQLite's locks order the writers; WAL lets readers go on while one writes).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from pathlib import Path

import yaml

from pipeline.core.codebook import Codebook, codebook_from_dict
from pipeline.core.config import RunConfig, config_from_dict
from pipeline.core.errors import CodingError, InputError, OutputPathError
from pipeline.core.types import Transcript
from pipeline.text.codings import project_codings, read_hand_codes
from pipeline.text.ingest import collect_inputs, read_transcript
from pipeline.text.project import DB_NAME, FORMAT, SCHEMA, VERSION, connect
from pipeline.text.segment import segment_transcript

QUEUES = ("document", "suggest", "code:CODE")
HISTORY = 10  # decisions a coder can undo, newest first
CODER_NAME = re.compile(r"^[\w][\w .@-]{0,63}$")


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class ReviewError(InputError):
    """A request names something the project does not have (a segment, a code, a queue)."""


def check_coder(name: str) -> str:
    if not isinstance(name, str) or not CODER_NAME.match(name):
        raise ReviewError(
            f"coder name {name!r} is not usable: expected 1 to 64 letters, digits, spaces or . @ - _, "
            "starting with a letter or digit. Choose another name."
        )
    return name


class Project:
    """An open review project.

    Args:
        folder: The project folder (holds ``project.sqlite`` and ``models/``).
    """

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self._local = threading.local()
        first = connect(self.folder, write=True)  # checks the file once, before anything writes
        self._local.con = first
        self._all = [first]
        meta = dict(first.execute("SELECT key, value FROM meta").fetchall())
        self.token: str = meta["token"]
        self.codebook: Codebook = codebook_from_dict(yaml.safe_load(meta["codebook"]), source=f"{self.folder / DB_NAME}")
        self.config: RunConfig = config_from_dict(json.loads(meta["config"]), where=f"{self.folder / DB_NAME}")
        self.codes = self.codebook.leaf_ids

    # --- creation ---------------------------------------------------------------------------

    @classmethod
    def create(cls, folder: str | Path, *, codebook: Codebook, config: RunConfig) -> Project:
        """Make a new project folder (refused where one exists or the folder holds other files)."""
        folder = Path(folder)
        if folder.exists() and not folder.is_dir():
            raise OutputPathError(f"{folder} is a file; expected a project folder (new or made by 'autocode review'). Name a folder.")
        if folder.is_dir() and any(folder.iterdir()):
            raise OutputPathError(
                f"{folder} holds files but no {DB_NAME}: expected an empty or new folder for a new project. "
                "Name a new folder; autocode does not write into a folder of other files."
            )
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{DB_NAME}.part"
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.executescript(SCHEMA)
            meta = {
                "format": FORMAT,
                "version": str(VERSION),
                "created": now(),
                "token": secrets.token_urlsafe(32),
                "codebook": yaml.safe_dump(codebook.to_dict(), allow_unicode=True, sort_keys=False),
                "config": json.dumps(config.to_dict()),
            }
            con.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
            con.commit()
        finally:
            con.close()
        tmp.rename(folder / DB_NAME)  # a half-made project never looks like one
        (folder / DB_NAME).chmod(0o600)  # it holds the access token and personal data
        return cls(folder)

    @property
    def con(self) -> sqlite3.Connection:
        """This thread's connection to the project's database."""
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.folder / DB_NAME, timeout=30.0, check_same_thread=False, isolation_level=None)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA synchronous = FULL")
            con.execute("PRAGMA foreign_keys = ON")
            self._local.con = con
            self._all.append(con)
        return con

    def close(self) -> None:
        for con in self._all:
            con.close()
        self._all.clear()
        self._local = threading.local()

    # --- what goes in ---------------------------------------------------------------------

    def _write(self):
        return _Transaction(self)

    def add_transcripts(self, transcripts: Iterable[Transcript], *, sources: dict[str, str] | None = None) -> list[str]:
        """Segment and add documents not in the project yet (by name); returns the names
        added. A document of the same name with other text is refused: nothing is replaced."""
        added = []
        for t in transcripts:
            digest = hashlib.sha256(t.text.encode("utf-8")).hexdigest()
            row = self.con.execute("SELECT sha256, source FROM documents WHERE name = ?", (t.id,)).fetchone()
            if row is not None:
                if row["sha256"] != digest:
                    raise InputError(
                        f"{t.path or t.id}: the project already holds a different document named {t.id!r} (from {row['source']}). "
                        "Rename the file to add it as a new document; documents in a project are never replaced."
                    )
                continue
            segments = segment_transcript(t, config=self.config.segment)
            with self._write() as con:
                cur = con.execute(
                    "INSERT INTO documents (name, text, kind, encoding, units, cues, sha256, source, added) VALUES (?,?,?,?,?,?,?,?,?)",
                    (t.id, t.text, t.kind, t.encoding, json.dumps(t.units), json.dumps(t.cues), digest,
                     (sources or {}).get(t.id, t.path), now()),
                )
                con.executemany(
                    "INSERT INTO segments (id, document, n, start, end, speaker, role, codable, text) VALUES (?,?,?,?,?,?,?,?,?)",
                    [(s.id, cur.lastrowid, n, s.start, s.end, s.speaker, s.role, int(s.codable), s.text) for n, s in enumerate(segments)],
                )
            added.append(t.id)
        if added:
            # Document order as one indexed column: the queue reads the next open segment
            # off the index instead of sorting the project's segments at every request.
            with self._write() as con:
                ids = [r[0] for r in con.execute("SELECT s.id FROM segments s JOIN documents d ON d.id = s.document ORDER BY d.name, s.n")]
                con.executemany("UPDATE segments SET ord = ? WHERE id = ?", [(k, i) for k, i in enumerate(ids)])
        return added

    def add_texts(self, paths: Sequence[str | Path]) -> list[str]:
        """Read and add transcripts (files or folders, every format autocode reads)."""
        return self.add_transcripts(read_transcript(p) for p in collect_inputs(list(paths)))

    def import_codings(self, paths: Sequence[str | Path], *, texts: Sequence[str | Path] = ()) -> int:
        """Add hand codes (every format ``train`` reads) as blind decisions of their coders,
        with their documents; returns the number of decisions added. A coder's decision
        on a segment already decided by that coder is not imported twice."""
        hand = read_hand_codes(paths, codebook=self.codebook, texts=texts)
        known = {r[0] for r in self.con.execute("SELECT name FROM documents")}
        # Units on a document the project holds (its own export, a suggestion file) are its
        # segments, found by id or else by their words; everything else is a document of its own.
        on_ours = {d for d, t in hand.transcripts.items() if t.kind == "units" and d in known}
        self.add_transcripts(t for d, t in hand.transcripts.items() if d not in on_ours)
        leaf = set(self.codes)
        rows = [(self._unit_segment(u), u.coder, sorted(u.codes & leaf)) for u in hand.units if u.document in on_ours]
        for name in sorted(set(hand.transcripts) - on_ours):
            segs = [s for s in segment_transcript(hand.transcripts[name], config=self.config.segment) if s.codable]
            labels = project_codings(segs, [c for c in hand.codings if c.document == name],
                                     min_overlap=self.config.training.min_overlap)
            for s, found in zip(segs, labels):
                for coder in hand.coders:
                    if hand.covers(coder, s):
                        rows.append((s.id, coder, sorted(c for c in found.get(coder, ()) if c in leaf)))
        added = 0
        source = "import: " + ", ".join(str(p) for p in paths)
        with self._write() as con:
            for seg, coder, codes in rows:
                self._ensure_coder(con, coder)
                known = con.execute("SELECT 1 FROM decisions WHERE segment = ? AND coder = ? AND undone = 0", (seg, coder)).fetchone()
                if known:
                    continue
                con.execute(
                    "INSERT INTO decisions (segment, coder, action, codes, time, proposals_shown, queue, source) "
                    "VALUES (?, ?, 'code', ?, ?, 0, 'import', ?)",
                    (seg, coder, json.dumps(codes), now(), source),
                )
                added += 1
        return added

    def _unit_segment(self, unit) -> str:
        """The project segment a hand-coded unit of one of its documents is: by id, else by text."""
        for key in (unit.key, f"{unit.document}:{unit.key}"):
            row = self.con.execute("SELECT s.id FROM segments s JOIN documents d ON d.id = s.document WHERE s.id = ? AND d.name = ?",
                                   (key, unit.document)).fetchone()
            if row is not None:
                return row[0]
        words = " ".join(unit.text.split())
        for row in self.con.execute("SELECT s.id, s.text FROM segments s JOIN documents d ON d.id = s.document WHERE d.name = ?",
                                    (unit.document,)):
            if " ".join(row["text"].split()) == words:
                return row["id"]
        raise CodingError(
            f"{unit.where}: unit {unit.key!r} of document {unit.document!r} is not a segment of that document in the project "
            "(neither its id nor its text is found). Give the segment's id as /api/codings writes it, or its exact text."
        )

    @staticmethod
    def _ensure_coder(con, coder: str) -> None:
        con.execute("INSERT OR IGNORE INTO coders VALUES (?, ?)", (check_coder(coder), now()))

    # --- models ---------------------------------------------------------------------------

    def add_model(self, path: str | Path, *, name: str, origin: str, status: str = "coding", decisions: int = 0) -> int:
        """Register a model (its proposals are written by the background worker)."""
        with self._write() as con:
            cur = con.execute(
                "INSERT INTO models (name, path, origin, status, decisions, started) VALUES (?, ?, ?, ?, ?, ?)",
                (name, str(path), origin, status, decisions, now()),
            )
            return int(cur.lastrowid)

    def model_row(self, model_id: int | None):
        if model_id is None:
            return None
        return self.con.execute("SELECT * FROM models WHERE id = ?", (model_id,)).fetchone()

    def current_model(self):
        """The newest model whose proposals are complete, or None."""
        return self.con.execute("SELECT * FROM models WHERE status = 'ready' ORDER BY id DESC LIMIT 1").fetchone()

    def busy_model(self):
        """The model being trained or coding now, or None."""
        return self.con.execute("SELECT * FROM models WHERE status IN ('training', 'coding') ORDER BY id DESC LIMIT 1").fetchone()

    def models(self) -> list[dict]:
        out = []
        for r in self.con.execute("SELECT * FROM models ORDER BY id"):
            d = dict(r)
            d["cv"] = json.loads(d["cv"]) if d["cv"] else None
            d.pop("pid", None)
            out.append(d)
        return out

    def model_path(self, row) -> Path:
        path = Path(row["path"])
        return path if path.is_absolute() else self.folder / path

    # --- decisions ------------------------------------------------------------------------

    def decision_count(self, *, source: str | None = "review") -> int:
        sql = "SELECT COUNT(*) FROM decisions WHERE undone = 0 AND action = 'code'"
        args: tuple = ()
        if source:
            sql += " AND source = ?"
            args = (source,)
        return int(self.con.execute(sql, args).fetchone()[0])

    def segment(self, segment_id: str):
        row = self.con.execute(
            "SELECT s.*, d.name AS document_name FROM segments s JOIN documents d ON d.id = s.document WHERE s.id = ?",
            (segment_id,),
        ).fetchone()
        if row is None:
            raise ReviewError(f"unknown segment {segment_id!r}: expected the id of a segment of this project (as /api/next gives it).")
        return row

    def check_codes(self, codes) -> list[str]:
        if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
            raise ReviewError(f"codes must be a list of code ids, found {codes!r}.")
        unknown = [c for c in codes if c not in self.codes]
        if unknown:
            raise CodingError(
                f"unknown code(s) {', '.join(map(repr, unknown))}: expected codes of the project's code system "
                f"({', '.join(self.codes)}). Choose one of them."
            )
        return sorted(set(codes))

    def decide(self, segment_id: str, coder: str, codes, *, proposals_shown: bool, model: int | None = None,
               queue: str = "document", action: str = "code") -> int:
        """Record one decision (one transaction); returns its id.

        The codes the model proposed and its scores are taken from the store (the model
        named, else none), not from the request, so the audit cannot be told otherwise."""
        check_coder(coder)
        seg = self.segment(segment_id)
        if not seg["codable"]:
            raise ReviewError(f"segment {segment_id!r} is not coded ({seg['role']}): expected a codable segment.")
        codes = self.check_codes(codes) if action == "code" else []
        proposed = scores = None
        if proposals_shown and model is not None:
            row = self.con.execute("SELECT codes, scores FROM proposals WHERE model = ? AND segment = ?", (model, segment_id)).fetchone()
            if row is None:
                raise ReviewError(f"model {model} made no proposal for segment {segment_id!r}: name the model /api/next gave.")
            proposed, scores = row["codes"], row["scores"]
        with self._write() as con:
            self._ensure_coder(con, coder)
            cur = con.execute(
                "INSERT INTO decisions (segment, coder, action, codes, time, proposals_shown, model, proposed, scores, queue, source) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'review')",
                (segment_id, coder, action, json.dumps(codes), now(), int(bool(proposals_shown)),
                 model if proposals_shown else None, proposed, scores, queue),
            )
            return int(cur.lastrowid)

    def history(self, coder: str, n: int = HISTORY) -> list[dict]:
        """The coder's last ``n`` decisions made here (not undone), newest first."""
        rows = self.con.execute(
            "SELECT d.id, d.segment, d.action, d.codes, d.time, s.text FROM decisions d JOIN segments s ON s.id = d.segment "
            "WHERE d.coder = ? AND d.undone = 0 AND d.source = 'review' ORDER BY d.id DESC LIMIT ?",
            (coder, n),
        ).fetchall()
        return [{"decision": r["id"], "segment": r["segment"], "action": r["action"], "codes": json.loads(r["codes"]),
                 "time": r["time"], "text": r["text"]} for r in rows]

    def undo(self, coder: str) -> dict | None:
        """Undo the coder's latest decision that is not undone yet, among their last
        :data:`HISTORY` decisions (undone ones count: ten presses of undo go ten decisions
        back, no further); returns it, or None when there is none left to undo."""
        with self._write() as con:
            window = con.execute(
                "SELECT id, segment, undone FROM decisions WHERE coder = ? AND source = 'review' ORDER BY id DESC LIMIT ?",
                (coder, HISTORY),
            ).fetchall()
            row = next((r for r in window if not r["undone"]), None)
            if row is None:
                return None
            con.execute("UPDATE decisions SET undone = 1 WHERE id = ?", (row["id"],))
            return {"decision": row["id"], "segment": row["segment"]}

    # --- queues ---------------------------------------------------------------------------

    _OPEN = "NOT EXISTS (SELECT 1 FROM decisions x WHERE x.segment = {col} AND x.coder = :coder AND x.undone = 0)"

    def next_segment(self, coder: str, queue: str, *, blind: bool) -> str | None:
        """The id of the next segment ``coder`` has not decided, in the order of ``queue``."""
        check_coder(coder)
        model = self.current_model()
        if queue == "document" or (queue == "suggest" and model is None):
            sql = "SELECT s.id FROM segments s WHERE s.codable = 1 AND " + self._OPEN.format(col="s.id") + " ORDER BY s.ord LIMIT 1"
            row = self.con.execute(sql, {"coder": coder}).fetchone()
        elif queue == "suggest":
            sql = ("SELECT p.segment FROM proposals p WHERE p.model = :model AND p.rank IS NOT NULL AND "
                   + self._OPEN.format(col="p.segment") + " ORDER BY p.rank LIMIT 1")
            row = self.con.execute(sql, {"coder": coder, "model": model["id"]}).fetchone()
            if row is None:  # the ranked list is used up until the next model: go on in document order
                return self.next_segment(coder, "document", blind=blind)
        elif queue.startswith("code:"):
            code = queue[5:]
            if code not in self.codes:
                raise ReviewError(f"queue {queue!r}: unknown code {code!r}; expected one of {', '.join(self.codes)}.")
            if blind:
                raise ReviewError(f"queue {queue!r} shows the segments the model gives {code}: it cannot be coded blind. "
                                  "Use blind=0, or the queues 'document' or 'suggest'.")
            if model is None:
                return None
            sql = ("SELECT c.segment FROM proposal_codes c WHERE c.model = :model AND c.code = :code AND "
                   + self._OPEN.format(col="c.segment") + " ORDER BY c.score DESC LIMIT 1")
            row = self.con.execute(sql, {"coder": coder, "model": model["id"], "code": code}).fetchone()
        else:
            raise ReviewError(f"unknown queue {queue!r}: expected one of {', '.join(QUEUES)}.")
        return None if row is None else row[0]

    def view(self, segment_id: str, coder: str, *, blind: bool, context: int = 3) -> dict:
        """What the coding view shows of a segment: its text and speaker, its neighbours,
        the model's proposals and other coders' codes (neither when ``blind``)."""
        seg = self.segment(segment_id)
        around = self.con.execute(
            "SELECT id, n, speaker, role, codable, text FROM segments WHERE document = ? AND n BETWEEN ? AND ? ORDER BY n",
            (seg["document"], seg["n"] - context, seg["n"] + context),
        ).fetchall()
        total = self.con.execute("SELECT COUNT(*) FROM segments WHERE document = ?", (seg["document"],)).fetchone()[0]
        out = {
            "segment": seg["id"],
            "document": seg["document_name"],
            "position": seg["n"],  # as the segment's id numbers it (from 0), as the overview shows it
            "of": total,
            "speaker": seg["speaker"],
            "text": seg["text"],
            "context": [{"segment": r["id"], "speaker": r["speaker"], "role": r["role"], "text": r["text"],
                         "current": r["id"] == seg["id"]} for r in around],
            "mine": None,
        }
        mine = self.con.execute(
            "SELECT codes FROM decisions WHERE segment = ? AND coder = ? AND undone = 0 AND action = 'code' ORDER BY id DESC LIMIT 1",
            (segment_id, coder),
        ).fetchone()
        if mine is not None:
            out["mine"] = json.loads(mine["codes"])
        if blind:
            return out
        model = self.current_model()
        if model is not None:
            row = self.con.execute("SELECT codes, scores FROM proposals WHERE model = ? AND segment = ?", (model["id"], segment_id)).fetchone()
            if row is not None:
                scores = json.loads(row["scores"])
                out["model"] = {"id": model["id"], "name": model["name"]}
                out["proposals"] = {c: scores[c] for c in json.loads(row["codes"])}
                out["scores"] = scores
        others = self.con.execute(
            "SELECT coder, codes FROM decisions WHERE id IN (SELECT MAX(id) FROM decisions WHERE segment = ? AND coder != ? "
            "AND undone = 0 AND action = 'code' GROUP BY coder)",
            (segment_id, coder),
        ).fetchall()
        out["others"] = {r["coder"]: json.loads(r["codes"]) for r in others}
        return out

    # --- what goes out --------------------------------------------------------------------

    def units(self) -> list[dict]:
        """The hand codes in force, as units JSONL records (``id``, ``document``, ``text``,
        ``codes``, ``coder``), assisted decisions marked."""
        from pipeline.text.project import CURRENT

        return [
            {"id": r["segment"], "document": r["document"], "text": r["text"], "codes": json.loads(r["codes"]),
             "coder": r["coder"], "assisted": bool(r["proposals_shown"])}
            for r in self.con.execute(CURRENT)
        ]

    def audit(self) -> list[dict]:
        """Per model and code: how often its proposal was accepted, corrected or rejected.

        For each assisted decision and each code the model proposed or the coder gave:
        *accepted* — proposed and kept; *rejected* — proposed, not kept; *added* — given
        by the coder, not proposed (the model missed it). A decision is *unchanged* when
        the codes equal the proposal (counted on the row ``code = *``)."""
        counts: dict[tuple, dict[str, int]] = {}
        rows = self.con.execute(
            "SELECT d.model, m.name, d.codes, d.proposed FROM decisions d JOIN models m ON m.id = d.model "
            "WHERE d.undone = 0 AND d.action = 'code' AND d.proposals_shown = 1 AND d.proposed IS NOT NULL ORDER BY d.id"
        )
        for r in rows:
            given, proposed = set(json.loads(r["codes"])), set(json.loads(r["proposed"]))
            whole = counts.setdefault((r["model"], r["name"], "*"), dict.fromkeys(("decisions", "unchanged", "accepted", "rejected", "added"), 0))
            whole["decisions"] += 1
            whole["unchanged"] += given == proposed
            for code in given | proposed:
                c = counts.setdefault((r["model"], r["name"], code), dict.fromkeys(("decisions", "unchanged", "accepted", "rejected", "added"), 0))
                c["decisions"] += 1
                c["accepted" if code in given and code in proposed else "rejected" if code in proposed else "added"] += 1
        out = []
        for (model, name, code), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][2] != "*", kv[0][2])):
            proposed = c["accepted"] + c["rejected"]
            out.append({"model": model, "model_name": name, "code": code, **c,
                        "precision": round(c["accepted"] / proposed, 4) if proposed else None})
        return out

    def status(self) -> dict:
        current, busy = self.current_model(), self.busy_model()
        return {
            "model": None if current is None else {"id": current["id"], "name": current["name"]},
            "training": None if busy is None else {"id": busy["id"], "name": busy["name"], "status": busy["status"]},
            "decisions": self.decision_count(),
            "imported": self.decision_count(source=None) - self.decision_count(),
            "coders": [r[0] for r in self.con.execute("SELECT name FROM coders ORDER BY name")],
            "documents": self.con.execute("SELECT COUNT(*) FROM documents").fetchone()[0],
            "segments": self.con.execute("SELECT COUNT(*) FROM segments WHERE codable = 1").fetchone()[0],
            "models": self.models(),
        }


class _Transaction:
    """``with project._write() as con:`` — one IMMEDIATE transaction on this thread's
    connection: it takes the write lock at once, so it never fails half-way on a lock."""

    def __init__(self, project: Project):
        self.con = project.con

    def __enter__(self):
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind, exc, tb):
        self.con.execute("COMMIT" if kind is None else "ROLLBACK")
        return False
