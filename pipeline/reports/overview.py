"""The results overview: what the model coded, and why, in one self-contained HTML page.

After ``autocode classify`` a researcher has one JSONL file per transcript. This module
reads them once, document by document, and keeps only what a person reads:

* the code × document matrix (the counts of ``summary.csv`` and the share of each
  document's codable segments, parent codes included);
* code co-occurrence: segments carrying both codes, and segments of one code with the
  other code within a window of neighbouring codable segments;
* per code, the highest-scored segments and the borderline ones (those within
  :data:`BORDER` of the code's threshold: the coded ones with the lowest scores, the
  uncoded ones with the highest), with the transcript's own
  words sliced from the source by the segment's offsets;
* why: the words and phrases that weigh most for each code (models with word features:
  :mod:`pipeline.learn.terms`), and the code
  system's anchor examples nearest to the segments shown.

Memory does not grow with the number of segments: aggregates are small matrices and
the examples are a bounded number per code and document. :func:`build_overview`
returns plain data, :func:`render_overview` turns it into HTML (inline CSS and
JavaScript, nothing loaded from anywhere, every text escaped; the templates and the
German and English texts are package data in ``pipeline/reports/templates``),
:func:`write_overview` writes ``overview.html`` atomically.
"""

from __future__ import annotations

import csv
import heapq
import json
import math
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline import __version__
from pipeline.core.codebook import Code, Codebook
from pipeline.core.errors import InputError
from pipeline.core.io import atomic_open, classify_output_files, sha256_file
from pipeline.learn.terms import lexical_terms
from pipeline.reports.overview_view import overview_context
from pipeline.reports.templating import LANGUAGES, render

OVERVIEW_FILE = "overview.html"
#: Borderline: a score this close to its code's threshold (thresholds lie near 0.5). A
#: segment scored 0.95 is no borderline case however few segments carry the code.
BORDER = 0.1


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ModelView:
    """What the overview needs to know about the model that coded the segments.

    Attributes:
        name: The model's name.
        codebook: Its code system (column order and hierarchy).
        fingerprint: :attr:`pipeline.learn.model.Model.fingerprint`, compared with the outputs'.
        single_label: At most one code per segment, the best one (no thresholds).
        thresholds: Per leaf code, the decision threshold (multi-label models).
        terms: Per leaf code, (word or phrase, coefficient) pairs, strongest first;
            empty for models without a lexical block.
        facts: The model card's facts (see :func:`model_view`).
        encode: Embeds texts, shape (n_texts, dim); None: no nearest anchors.
    """

    name: str
    codebook: Codebook
    fingerprint: str = ""
    single_label: bool = False
    thresholds: dict[str, float] = field(default_factory=dict)
    terms: dict[str, list[tuple[str, float]]] = field(default_factory=dict)
    facts: dict = field(default_factory=dict)
    encode: Callable[[list[str]], np.ndarray] | None = None


@dataclass(frozen=True)
class DocumentCounts:
    """One row of the code × document matrix (the counts equal ``summary.csv``)."""

    document: str
    segments: int
    codable: int
    counts: dict[str, int]


@dataclass(frozen=True)
class SegmentView:
    """A segment shown on the page.

    Attributes:
        index: Position of the segment in its document's output (0-based).
        words: The transcript's own words (``source[start:end]``), or the model's
            cleaned text where the source is missing or changed (``original`` False).
        text: The cleaned text the model read (embedded for the nearest anchors).
    """

    id: str
    document: str
    index: int
    start: int
    end: int
    speaker: str
    role: str
    codes: tuple[str, ...]
    words: str
    original: bool
    text: str


@dataclass(frozen=True)
class Example:
    """A segment listed under a code: its score for the code and, for the segments of the
    whole run (not only of their document), the nearest anchor example of the code."""

    segment: int  # index into Overview.segments
    score: float
    anchor: str = ""
    similarity: float | None = None


@dataclass
class CodeView:
    """Everything shown for one leaf code.

    ``top`` is sorted by score (highest first); ``above`` holds coded segments with the
    lowest scores first, ``below`` uncoded ones with the highest scores first, both
    within the borderline margin of the threshold (:data:`BORDER`). Each list
    holds the examples of the whole run and of every document, so that the page can
    filter by document.
    """

    code: Code
    threshold: float | None
    coded: int
    top: list[Example]
    above: list[Example]
    below: list[Example]
    terms: list[tuple[str, float]]
    anchors: list[tuple[str, float | None]]  # anchor, cosine to the mean of the top coded segments


@dataclass
class Overview:
    """The data of the page.

    Attributes:
        ids: All codes in code-system order (parents before their children).
        same: ndarray of shape (n_ids, n_ids): segments carrying both codes (symmetric;
            the diagonal counts the segments of a code).
        near: ndarray of shape (n_ids, n_ids): segments of the row's code with the
            column's code in the same segment or in one of the ``window`` codable
            segments before or after it in the same document.
    """

    model: ModelView
    documents: list[DocumentCounts]
    ids: tuple[str, ...]
    same: np.ndarray
    near: np.ndarray
    window: int
    segments: list[SegmentView]
    codes: list[CodeView]
    roles: tuple[str, ...]
    warnings: list[str]
    margin: float | None = None  # how near its threshold a borderline score lies (None: no thresholds)


# --------------------------------------------------------------------------- model


def model_view(model) -> ModelView:
    """The :class:`ModelView` of a loaded :class:`pipeline.learn.model.Model`."""
    single = model.config.classifier.labels != "multi"
    card = model.card  # load_model keeps the transfer figures of `benchmark transfer --card`
    cfg = model.config
    terms = lexical_terms(model)
    facts = {
        "model": model.name,
        "created": card.get("created", ""),
        "codebook": model.codebook.name,
        "n_codes": len(model.codes),
        "embedder": model.embedder.identity().get("model") or model.embedder.identity().get("name", ""),
        "lexical": bool(cfg.features.lexical or terms),
        "context": int(cfg.features.context),
        "labels": cfg.classifier.labels,
        "classifier": cfg.classifier.name,
        "C": cfg.classifier.C,
        "unit": cfg.segment.unit,
        "training": card.get("training", {}),
        "cv": card.get("cv", {}),
        "transfer": card.get("transfer", {}),
    }
    return ModelView(
        name=model.name,
        codebook=model.codebook,
        fingerprint=model.fingerprint,
        single_label=single,
        thresholds={} if single else {c: float(t) for c, t in zip(model.codes, model.classifier.thresholds_)},
        terms=terms,
        facts=facts,
        encode=model.embedder.encode,
    )


# --------------------------------------------------------------------------- inputs


def overview_inputs(out_dir: str | Path) -> list[Path]:
    """The outputs an overview of ``out_dir`` shows: those listed in its ``summary.csv``
    (so that the page and the summary describe the same run), else every classify output."""
    out_dir = Path(out_dir)
    summary = out_dir / "summary.csv"
    if summary.is_file():
        with open(summary, encoding="utf-8", newline="") as fh:
            stems = [row["transcript"] for row in csv.DictReader(fh) if row.get("transcript")]
        paths = [out_dir / f"{s}.jsonl" for s in stems]
        missing = [p.name for p in paths if not p.is_file()]
        if missing:
            raise InputError(
                f"{summary} lists {len(missing)} transcript(s) without output ({', '.join(missing[:3])}). "
                f"Run 'autocode classify' into {out_dir} again to complete it."
            )
        return paths
    return classify_output_files([out_dir])


def coded_by(paths: Sequence[str | Path]) -> Path | None:
    """The model folder named in the outputs' metadata, where it still holds a model."""
    for path in paths:
        model_dir = _read_meta(Path(path)).get("model_dir")
        if model_dir and (Path(model_dir) / "model.json").is_file():
            return Path(model_dir)
    return None


def _read_meta(path: Path) -> dict:
    try:
        return json.loads(path.with_name(path.stem + ".meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _source_text(meta: dict) -> str | None:
    """The decoded source of an output, when it is still there and unchanged."""
    from pipeline.text.ingest import read_transcript

    source = meta.get("source")
    if not source or not Path(source).is_file():
        return None
    try:
        if meta.get("source_sha256") and sha256_file(source) != meta["source_sha256"]:
            return None
        return read_transcript(source).text
    except Exception:  # noqa: BLE001 - a source that cannot be read only costs the original words
        return None


# --------------------------------------------------------------------------- aggregates


class _Cooccurrence:
    """Same-segment and window co-occurrence, fed one codable segment at a time.

    Counts live in nested Python lists while streaming (a NumPy update per segment costs
    more than the counting itself) and become arrays at the end.
    """

    def __init__(self, n: int, window: int):
        self._same = [[0] * n for _ in range(n)]
        self._near = [[0] * n for _ in range(n)]
        self.window = window
        self._buf: deque[tuple[tuple[int, ...], set[int]]] = deque()

    def add(self, codes: tuple[int, ...]) -> None:
        near = set(codes)
        if codes:
            for a in codes:
                row = self._same[a]
                for b in codes:
                    row[b] += 1
            for prev_codes, prev_near in self._buf:
                prev_near.update(codes)
                near.update(prev_codes)
        else:
            for prev_codes, _ in self._buf:
                near.update(prev_codes)
        self._buf.append((codes, near))
        if len(self._buf) > self.window:
            self._finish(*self._buf.popleft())

    def _finish(self, codes: tuple[int, ...], near: set[int]) -> None:
        for a in codes:
            row = self._near[a]
            for b in near:
                row[b] += 1

    def end_document(self) -> None:
        while self._buf:
            self._finish(*self._buf.popleft())

    @property
    def same(self) -> np.ndarray:
        return np.asarray(self._same, dtype=np.int64)

    @property
    def near(self) -> np.ndarray:
        return np.asarray(self._near, dtype=np.int64)


class _Pool:
    """The best ``size`` examples of one code over the whole run (bounded memory)."""

    def __init__(self, size: int, *, highest: bool):
        self.size, self.sign, self.heap = size, 1.0 if highest else -1.0, []

    def offer(self, score: float, key: tuple[int, int]) -> None:
        # Ties go to the earlier document and segment: deterministic pages.
        item = (self.sign * score, (-key[0], -key[1]), key)
        if len(self.heap) < self.size:
            heapq.heappush(self.heap, item)
        elif item > self.heap[0]:
            heapq.heapreplace(self.heap, item)

    def keys(self) -> set[tuple[int, int]]:
        return {item[2] for item in self.heap}


def _ranked(values: np.ndarray, mask: np.ndarray, k: int, *, highest: bool) -> list[int]:
    """Indices of the ``k`` highest (or lowest) ``values`` where ``mask``, stable order."""
    idx = np.flatnonzero(mask)
    if not len(idx) or k <= 0:
        return []
    order = np.argsort(-values[idx] if highest else values[idx], kind="stable")[:k]
    return [int(i) for i in idx[order]]


def build_overview(
    paths: Sequence[str | Path],
    *,
    model: ModelView,
    window: int = 2,
    top: int = 10,
    borderline: int = 5,
    per_document: int = 2,
    margin: float | None = None,
) -> Overview:
    """Read classify outputs once and keep what the overview shows.

    Args:
        paths: ``<stem>.jsonl`` outputs of ``autocode classify`` (with ``.meta.json``
            beside them for the source text; without, the cleaned text is shown).
        model: The model that coded them (:func:`model_view`).
        window: Codable segments on each side counted as "near" for co-occurrence.
        top, borderline: Examples per code kept over the whole run (highest scores;
            coded with the lowest scores and uncoded with the highest, each).
        per_document: Examples per code and document kept for each list, so that the
            page still shows examples when filtered to one document.
        margin: How far from a code's threshold a borderline segment's score may lie
            (default :data:`BORDER`); single-label models, which have no thresholds, show
            the lowest-scored coded and highest-scored uncoded segments.

    Returns:
        An :class:`Overview`; memory grows with the number of documents and codes, not
        with the number of segments.
    """
    if window < 0:
        raise ValueError(f"window must be 0 or more, found {window}")
    margin = BORDER if margin is None else margin
    cb = model.codebook
    ids, leaves = cb.ids, cb.leaf_ids
    col = {c: i for i, c in enumerate(ids)}
    leaf_col = {c: i for i, c in enumerate(leaves)}
    co = _Cooccurrence(len(ids), window)
    pools = {name: [_Pool(size, highest=hi) for _ in leaves] for name, size, hi in
             (("top", top, True), ("above", borderline, False), ("below", borderline, True))}
    shown: dict[tuple[int, int], SegmentView] = {}  # (document, index) -> segment
    scores_of: dict[tuple[int, int], np.ndarray] = {}
    local: dict[str, list[set[tuple[int, int]]]] = {name: [set() for _ in leaves] for name in pools}
    documents: list[DocumentCounts] = []
    roles: set[str] = set()
    warnings: list[str] = []
    fingerprints: dict[str, list[str]] = {}
    unknown: set[str] = set()
    coded_total = np.zeros(len(leaves), dtype=np.int64)

    for d, path in enumerate(paths):
        path = Path(path)
        meta = _read_meta(path)
        fingerprints.setdefault(meta.get("model_fingerprint", ""), []).append(path.stem)
        counts = [0] * len(ids)
        light: list[tuple] = []  # codable segments: (index, record)
        score_rows: list[list[float]] = []
        coded_cells: list[tuple[int, int]] = []  # (row, leaf column) of each code assigned
        n = 0
        try:
            fh = open(path, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot be read ({exc}). Pass the --out folder of 'autocode classify'.") from None
        with fh:
            for line_no, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    rec = json.loads(line)
                    codes = list(rec.get("codes", [])) + list(rec.get("parent_codes", []))
                except (ValueError, TypeError):
                    raise InputError(f"{path}, line {line_no}: not a JSON object of a classify output. Re-run 'autocode classify'.") from None
                index, n = n, n + 1
                known = []
                for c in codes:
                    if c in col:
                        known.append(col[c])
                    else:
                        unknown.add(c)
                for i in known:
                    counts[i] += 1
                if not rec.get("codable", True):
                    continue
                co.add(tuple(sorted(set(known))))
                roles.add(str(rec.get("role", "")))
                scores = rec.get("scores") or {}
                # classify writes the scores in code-system order: take them as they are.
                score_rows.append(list(scores.values()) if tuple(scores) == leaves else [float(scores.get(c, math.nan)) for c in leaves])
                coded_cells.extend((len(light), leaf_col[c]) for c in rec.get("codes", []) if c in leaf_col)
                light.append((index, rec))
        co.end_document()
        stem = path.stem
        documents.append(DocumentCounts(stem, n, len(light), {c: counts[col[c]] for c in ids}))
        if not light:
            continue
        S = np.asarray(score_rows, dtype=np.float64)
        K = np.zeros(S.shape, dtype=bool)
        if coded_cells:
            K[tuple(np.asarray(coded_cells).T)] = True
        coded_total += K.sum(axis=0)
        valid = ~np.isnan(S)
        picked: set[int] = set()
        for j in range(len(leaves)):
            s = S[:, j]
            t = model.thresholds.get(leaves[j])
            near = valid[:, j] if t is None else valid[:, j] & (np.abs(s - t) <= margin)
            lists = {
                "top": _ranked(s, valid[:, j], top, highest=True),
                "above": _ranked(s, near & K[:, j], borderline, highest=False),
                "below": _ranked(s, near & ~K[:, j], borderline, highest=True),
            }
            for name, rows in lists.items():
                for r in rows:
                    pools[name][j].offer(float(s[r]), (d, light[r][0]))
                for r in rows[:per_document]:
                    local[name][j].add((d, light[r][0]))
                picked.update(rows)
        source = _source_text(meta)
        if source is None:
            warnings.append(f"source_missing:{stem}")
        for r in sorted(picked):
            index, rec = light[r]
            start, end = int(rec.get("start", 0)), int(rec.get("end", 0))
            words = source[start:end] if source is not None and 0 <= start <= end <= len(source) else None
            shown[(d, index)] = SegmentView(
                id=str(rec.get("id", f"{stem}:{index:04d}")), document=stem, index=index, start=start, end=end,
                speaker=str(rec.get("speaker", "")), role=str(rec.get("role", "")),
                codes=tuple(c for c in rec.get("codes", []) if c in leaf_col), words=words if words is not None else str(rec.get("text", "")),
                original=words is not None, text=str(rec.get("text", "")),
            )
            scores_of[(d, index)] = S[r].copy()  # not a view: the document's matrix can go
        # Forget what no list kept: memory stays bounded by the pools and the per-document examples.
        keep = set().union(*(p.keys() for ps in pools.values() for p in ps), *(k for ls in local.values() for k in ls))
        for key in [k for k in shown if k not in keep]:
            del shown[key], scores_of[key]

    if unknown:
        warnings.append("unknown_codes:" + ", ".join(sorted(unknown)))
    others = sorted(stem for fp, stems in fingerprints.items() if fp and fp != model.fingerprint for stem in stems)
    if model.fingerprint and others:
        warnings.append("other_model:" + ", ".join(others[:5]) + (f" (+{len(others) - 5})" if len(others) > 5 else ""))

    # Renumber the segments kept, in document order.
    order = sorted(shown)
    number = {key: i for i, key in enumerate(order)}
    segments = [shown[k] for k in order]
    code_views = []
    for j, code_id in enumerate(leaves):
        def examples(name: str, *, highest: bool) -> list[Example]:
            keys = pools[name][j].keys() | local[name][j]
            keys = sorted(keys, key=lambda k: ((-1 if highest else 1) * scores_of[k][j], k))
            return [Example(number[k], float(scores_of[k][j])) for k in keys]

        code_views.append(CodeView(
            code=cb.get(code_id), threshold=model.thresholds.get(code_id), coded=int(coded_total[j]),
            top=examples("top", highest=True), above=examples("above", highest=False), below=examples("below", highest=True),
            terms=list(model.terms.get(code_id, [])), anchors=[(a, None) for a in cb.get(code_id).anchors],
        ))  # fmt: skip
    ov = Overview(model, documents, ids, co.same, co.near, window, segments, code_views, tuple(sorted(roles)), warnings,
                  None if model.single_label else margin)
    if model.encode is not None:
        try:
            _nearest_anchors(ov, {(name, j): pools[name][j].keys() for name in pools for j in range(len(leaves))}, number)
        except Exception as exc:  # noqa: BLE001 - the anchors explain, the page is still worth having without them
            ov.warnings.append(f"anchors_failed:{type(exc).__name__}: {exc}")
    return ov


def _unit(X) -> np.ndarray:
    X = X.toarray() if hasattr(X, "toarray") else np.asarray(X, dtype=np.float64)
    norm = np.linalg.norm(X, axis=1, keepdims=True)
    return X / np.where(norm > 0, norm, 1.0)


def _nearest_anchors(ov: Overview, run_keys: dict, number: dict) -> None:
    """For the examples of the whole run, the anchor of their code nearest to them; for
    each anchor, its cosine to the mean of the code's top coded segments."""
    anchors = sorted({a for cv in ov.codes for a in cv.code.anchors})
    if not anchors:
        return
    wanted = sorted({number[k] for keys in run_keys.values() for k in keys})
    if not wanted:
        return
    texts = anchors + [ov.segments[i].text for i in wanted]
    E = _unit(ov.model.encode(texts))
    anchor_vec = dict(zip(anchors, E[: len(anchors)]))
    seg_vec = dict(zip(wanted, E[len(anchors):]))
    for j, cv in enumerate(ov.codes):
        if not cv.code.anchors:
            continue
        A = np.vstack([anchor_vec[a] for a in cv.code.anchors])
        in_run = {number[k] for name in ("top", "above", "below") for k in run_keys[(name, j)]}
        for name in ("top", "above", "below"):
            lst = getattr(cv, name)
            for i, ex in enumerate(lst):
                if ex.segment in in_run:
                    sims = A @ seg_vec[ex.segment]
                    best = int(np.argmax(sims))
                    lst[i] = Example(ex.segment, ex.score, cv.code.anchors[best], float(sims[best]))
        coded = [ex.segment for ex in cv.top if ex.segment in in_run and cv.code.id in ov.segments[ex.segment].codes]
        if coded:
            centre = _unit(np.mean([seg_vec[i] for i in coded], axis=0)[None, :])[0]
            cv.anchors = [(a, float(v @ centre)) for a, v in zip(cv.code.anchors, A)]


# --------------------------------------------------------------------------- rendering


def render_overview(ov: Overview, *, lang: str = "de") -> str:
    """The overview as one self-contained HTML page (``lang``: ``de`` or ``en``).

    The page's markup, style, script and texts are package data
    (``pipeline/reports/templates``); :mod:`pipeline.reports.overview_view` prepares
    what it shows.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, found {lang!r}")
    return render("overview.html.j2", css="overview.css", **overview_context(ov, lang=lang, version=__version__))


def write_overview(
    out_dir: str | Path,
    *,
    model: ModelView,
    paths: Iterable[str | Path] | None = None,
    lang: str = "de",
    target: str | Path | None = None,
    window: int = 2,
) -> tuple[Path, Overview]:
    """Build and write ``out_dir/overview.html`` (or ``target``) atomically.

    Args:
        paths: The outputs to show (default: :func:`overview_inputs` of ``out_dir``).

    Returns:
        (the written file, the overview's data).
    """
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, found {lang!r}")
    paths = overview_inputs(out_dir) if paths is None else [Path(p) for p in paths]
    ov = build_overview(paths, model=model, window=window)
    page = render_overview(ov, lang=lang)
    target = Path(target) if target is not None else Path(out_dir) / OVERVIEW_FILE
    with atomic_open(target, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)
    return target, ov
