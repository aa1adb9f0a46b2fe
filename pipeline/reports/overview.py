"""The results overview: what the model coded, and why, in one self-contained HTML page.

After ``autocode classify`` a researcher has one JSONL file per transcript. This module
reads them once, document by document, and keeps only what a person reads:

* the code × document matrix (the counts of ``summary.csv`` and the share of each
  document's codable segments, parent codes included);
* code co-occurrence: segments carrying both codes, and segments of one code with the
  other code within a window of neighbouring codable segments;
* per code, the highest-scored segments and the borderline ones (the coded segments
  with the lowest scores, the uncoded ones with the highest), with the transcript's own
  words sliced from the source by the segment's offsets;
* why: the words and phrases that weigh most for each code (models with a lexical
  block: the classifier's coefficients over the word TF-IDF vocabulary), and the code
  system's anchor examples nearest to the segments shown.

Memory does not grow with the number of segments: aggregates are small matrices and
the examples are a bounded number per code and document. :func:`build_overview`
returns plain data, :func:`render_overview` turns it into HTML (inline CSS and
JavaScript, nothing loaded from anywhere, every text escaped), :func:`write_overview`
writes ``overview.html`` atomically.
"""

from __future__ import annotations

import csv
import heapq
import html
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

OVERVIEW_FILE = "overview.html"
LANGUAGES = ("de", "en")


# --------------------------------------------------------------------------- data


@dataclass(frozen=True)
class ModelView:
    """What the overview needs to know about the model that coded the segments.

    Attributes:
        name: The model's name.
        codebook: Its code system (column order and hierarchy).
        fingerprint: :attr:`pipeline.learn.model.Model.fingerprint`, compared with the outputs'.
        single_label: Exactly one code per segment (no thresholds).
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
    lowest scores first, ``below`` uncoded ones with the highest scores first. Each list
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


# --------------------------------------------------------------------------- model


def lexical_terms(model, n: int = 12) -> dict[str, list[tuple[str, float]]]:
    """Per leaf code the ``n`` words or phrases that weigh most for it.

    The lexical block's word 1–2-gram TF-IDF columns come first in the feature matrix
    (:mod:`pipeline.learn.features`), and sparse features are not standardised. The weight of
    a term is its coefficient times its IDF: what one occurrence of the term adds to the
    code's decision before the segment's vector is length-normalised. (The bare
    coefficient favours frequent function words, whose IDF is small.) Only positive
    weights are listed; empty for models without a lexical block.
    """
    fz = model.featurizer
    if fz is None or not fz.config.lexical or fz.word_ is None:
        return {}
    vocab = fz.word_.vocabulary_
    words = np.empty(len(vocab), dtype=object)
    for term, i in vocab.items():
        words[i] = term
    weight = np.asarray(model.classifier.coef_)[:, : len(words)] * np.asarray(fz.word_.idf_)[None, :]
    out = {}
    for j, code in enumerate(model.codes):
        order = np.argsort(-weight[j], kind="stable")[:n]
        out[code] = [(str(words[i]), float(weight[j, i])) for i in order if weight[j, i] > 0]
    return out


def model_view(model) -> ModelView:
    """The :class:`ModelView` of a loaded :class:`pipeline.learn.model.Model`."""
    single = model.config.classifier.labels == "single"
    card = model.card  # load_model keeps the transfer figures of `benchmark transfer --card`
    cfg = model.config
    facts = {
        "model": model.name,
        "created": card.get("created", ""),
        "codebook": model.codebook.name,
        "n_codes": len(model.codes),
        "embedder": model.embedder.identity().get("model") or model.embedder.identity().get("name", ""),
        "lexical": bool(cfg.features.lexical),
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
        terms=lexical_terms(model),
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

    Returns:
        An :class:`Overview`; memory grows with the number of documents and codes, not
        with the number of segments.
    """
    if window < 0:
        raise ValueError(f"window must be 0 or more, found {window}")
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
            lists = {
                "top": _ranked(s, valid[:, j], top, highest=True),
                "above": _ranked(s, valid[:, j] & K[:, j], borderline, highest=False),
                "below": _ranked(s, valid[:, j] & ~K[:, j], borderline, highest=True),
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
    ov = Overview(model, documents, ids, co.same, co.near, window, segments, code_views, tuple(sorted(roles)), warnings)
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


# --------------------------------------------------------------------------- text

TEXT = {
    "de": {
        "title": "Ergebnisübersicht", "run": "{docs} Dokumente, {segs} Segmente, davon {codable} codierbar; codiert mit Modell „{model}“.",
        "model": "Modell", "created": "trainiert", "codebook": "Codesystem", "codes_n": "{n} Codes",
        "embedder": "Einbettung", "lexical": "lexikalischer Block (Wort- und Zeichen-TF-IDF)", "context": "Nachbarsegmente je Seite",
        "classifier": "Klassifikator", "multi": "mehrere Codes je Segment, Schwelle je Code", "single": "genau ein Code je Segment",
        "training": "Trainingsdaten", "train_line": "{documents} Dokumente, {segments} Segmente, {coded} codiert (Codierer/in {coder})",
        "cv": "Kreuzvalidiert", "cv_line": "{folds} dokumentgruppierte Folds: Mikro-F1 {micro}, Makro-F1 {macro}", "cv_parent": "; Obercodes Makro-F1 {pmacro}",
        "transfer": "Transfer", "unit": "Segmentierung",
        "filters": "Filter", "f_doc": "Dokument", "f_code": "Code", "f_role": "Sprecherrolle", "f_score": "Score von–bis", "all": "alle",
        "f_note": "Filter wirken auf die Matrix (Dokument), die Codeabschnitte (Code) und die Beispiele (alle).",
        "matrix": "Code × Dokument", "matrix_note": "Segmente je Code und Dokument (wie summary.csv) und ihr Anteil an den codierbaren Segmenten des Dokuments; die Farbe zeigt den Anteil (Obercodes eigene Skala).",
        "document": "Dokument", "segments": "Segmente", "codable": "codierbar", "total": "Summe",
        "cooc": "Gemeinsames Auftreten", "cooc_same": "Im selben Segment", "cooc_near": "In der Nähe (±{w} codierbare Segmente)",
        "cooc_same_note": "Segmente, die beide Codes tragen; die Diagonale zählt die Segmente des Codes. Obercode und Untercode (grau) treten immer gemeinsam auf.",
        "cooc_near_note": "Segmente des Zeilencodes, bei denen der Spaltencode im selben oder in einem der {w} codierbaren Segmente davor oder danach (im selben Dokument) vorkommt.",
        "per_code": "Codes im Einzelnen", "threshold": "Schwelle", "coded_n": "{n} Segmente codiert", "f1": "F1 (Kreuzvalidierung)",
        "top": "Höchste Scores", "borderline": "Grenzfälle", "above": "knapp codiert", "below": "knapp nicht codiert",
        "none": "Keine Segmente für diese Filter.", "why": "Warum", "terms": "Wörter und Wendungen mit dem größten Gewicht",
        "no_terms": "Das Modell hat keinen lexikalischen Block; es entscheidet über die Einbettung.",
        "anchors": "Ankerbeispiele des Codesystems", "anchor_sim": "Ähnlichkeit zu den bestbewerteten codierten Segmenten",
        "no_anchors": "Das Codesystem nennt für diesen Code keine Ankerbeispiele.", "nearest": "nächstes Ankerbeispiel",
        "seg_pos": "Segment {i} von {n}", "chars": "Zeichen {a}–{b}", "cleaned": "(bereinigter Text; Quelle nicht gefunden oder geändert)",
        "codes_of": "Codes", "definition": "Definition", "shown": "{n} Beispiele sichtbar",
        "w_source_missing": "Quelle von {x} nicht gefunden oder geändert: dort steht der bereinigte Text statt des Originalwortlauts.",
        "w_unknown_codes": "Codes in den Ausgaben, die das Codesystem nicht kennt (nicht gezählt): {x}.",
        "w_other_model": "Diese Ausgaben stammen von einem anderen Modell als dem hier beschriebenen: {x}. Die „Warum“-Angaben gelten dann nicht.",
        "w_anchors_failed": "Die nächsten Ankerbeispiele konnten nicht berechnet werden ({x}).",
        "footer": "Erstellt von autocode {v}. Die Seite lädt nichts nach und funktioniert offline.", "q": "„{x}“",
    },
    "en": {
        "title": "Results overview", "run": "{docs} documents, {segs} segments, {codable} of them codable; coded with model “{model}”.",
        "model": "Model", "created": "trained", "codebook": "Code system", "codes_n": "{n} codes",
        "embedder": "Embedding", "lexical": "lexical block (word and character TF-IDF)", "context": "neighbouring segments on each side",
        "classifier": "Classifier", "multi": "several codes per segment, a threshold per code", "single": "exactly one code per segment",
        "training": "Training data", "train_line": "{documents} documents, {segments} segments, {coded} coded (coder {coder})",
        "cv": "Cross-validated", "cv_line": "{folds} document-grouped folds: micro-F1 {micro}, macro-F1 {macro}", "cv_parent": "; parent codes macro-F1 {pmacro}",
        "transfer": "Transfer", "unit": "Segmentation",
        "filters": "Filters", "f_doc": "Document", "f_code": "Code", "f_role": "Speaker role", "f_score": "Score from–to", "all": "all",
        "f_note": "Filters apply to the matrix (document), the code sections (code) and the examples (all).",
        "matrix": "Code × document", "matrix_note": "Segments per code and document (as in summary.csv) and their share of the document's codable segments; the colour shows the share (parent codes on their own scale).",
        "document": "Document", "segments": "Segments", "codable": "codable", "total": "Total",
        "cooc": "Co-occurrence", "cooc_same": "In the same segment", "cooc_near": "Nearby (±{w} codable segments)",
        "cooc_same_note": "Segments carrying both codes; the diagonal counts the code's segments. A parent code and its children (grey) always occur together.",
        "cooc_near_note": "Segments of the row's code with the column's code in the same segment or in one of the {w} codable segments before or after it (same document).",
        "per_code": "Codes one by one", "threshold": "threshold", "coded_n": "{n} segments coded", "f1": "F1 (cross-validation)",
        "top": "Highest scores", "borderline": "Borderline", "above": "just coded", "below": "just not coded",
        "none": "No segments for these filters.", "why": "Why", "terms": "Words and phrases that weigh most",
        "no_terms": "The model has no lexical block; it decides on the embedding.",
        "anchors": "Anchor examples of the code system", "anchor_sim": "similarity to the top coded segments",
        "no_anchors": "The code system gives no anchor examples for this code.", "nearest": "nearest anchor",
        "seg_pos": "segment {i} of {n}", "chars": "characters {a}–{b}", "cleaned": "(cleaned text; source not found or changed)",
        "codes_of": "Codes", "definition": "Definition", "shown": "{n} examples shown",
        "w_source_missing": "Source of {x} not found or changed: the cleaned text is shown instead of the original words.",
        "w_unknown_codes": "Codes in the outputs that the code system does not know (not counted): {x}.",
        "w_other_model": "These outputs come from another model than the one described here: {x}. The “why” parts do not apply to them.",
        "w_anchors_failed": "The nearest anchor examples could not be computed ({x}).",
        "footer": "Made by autocode {v}. The page loads nothing and works offline.", "q": "“{x}”",
    },
}

SHOW_TOP = 6  # examples visible per list (the page holds more, for the filters)
SHOW_BORDER = 4

CSS = """
*{box-sizing:border-box}
[hidden]{display:none!important}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:#1d232b;background:#f6f7f9}
main{max-width:1240px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:24px;margin:8px 0 4px}h2{font-size:19px;margin:28px 0 8px;border-bottom:2px solid #d5dae1;padding-bottom:4px}
h3{font-size:16px;margin:0 0 4px}h4{font-size:13px;margin:10px 0 4px;text-transform:uppercase;letter-spacing:.03em;color:#4a5563}
p.note{color:#4a5563;margin:4px 0 8px;max-width:100ch}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:2px 14px;margin:8px 0;background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:10px 14px}
dl.facts dt{font-weight:600;color:#4a5563}dl.facts dd{margin:0;overflow-wrap:anywhere}
.warn{background:#fff4d6;border:1px solid #e8c468;border-radius:6px;padding:6px 10px;margin:6px 0}
form.filters{position:sticky;top:0;z-index:2;display:flex;flex-wrap:wrap;gap:8px 16px;align-items:end;background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:8px 12px;margin:12px 0}
form.filters label{display:flex;flex-direction:column;font-size:12px;color:#4a5563;gap:2px}
form.filters select{max-width:260px}form.filters input{width:5.5em}
.frame{overflow-x:auto;max-width:100%;background:#fff;border:1px solid #d5dae1;border-radius:6px}
table{border-collapse:collapse;font-variant-numeric:tabular-nums}
th,td{padding:3px 6px;border-bottom:1px solid #e6e9ee;text-align:right;vertical-align:bottom}
th{font-weight:600;font-size:12px}
th.row,td.row{text-align:left;white-space:nowrap;max-width:240px;overflow:hidden;text-overflow:ellipsis}
th.v{writing-mode:vertical-rl;transform:rotate(180deg);text-align:left;white-space:nowrap;padding:6px 2px}
th.parent,td.parent{border-left:2px solid #9aa5b4}
td.cell{min-width:40px;line-height:1.15}td.cell small{display:block;color:#4a5563;font-size:10px}
tr.sum td{font-weight:600;border-top:2px solid #9aa5b4}
.picked{outline:2px solid #c0392b;outline-offset:-2px}
section.code{background:#fff;border:1px solid #d5dae1;border-radius:6px;padding:12px 14px;margin:14px 0}
section.code .head{display:flex;flex-wrap:wrap;gap:4px 14px;align-items:baseline}
section.code .head span{color:#4a5563;font-size:13px}
.cols{display:grid;grid-template-columns:minmax(0,1fr) minmax(0,1fr);gap:14px}
.cols>div{min-width:0}
@media (max-width:900px){.cols{grid-template-columns:minmax(0,1fr)}}
ol.examples{list-style:none;margin:0;padding:0}
ol.examples li{border-left:4px solid #9aa5b4;padding:4px 8px;margin:0 0 6px;background:#fafbfc}
ol.examples li.yes{border-left-color:#2e7d4f}ol.examples li.no{border-left-color:#c77c02}
.meta{font-size:12px;color:#4a5563;overflow-wrap:anywhere}.meta b{color:#1d232b}
blockquote{margin:2px 0;white-space:pre-line;overflow-wrap:anywhere}
.anchor{font-size:12px;color:#37506b;overflow-wrap:anywhere}
.empty{color:#8a94a3;font-style:italic;margin:2px 0 8px}
ul.terms{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:4px}
ul.terms li{background:#e8eef6;border-radius:3px;padding:1px 6px;font-size:13px;overflow-wrap:anywhere}
ul.terms li small{color:#4a5563}
ul.anchors{margin:0;padding-left:18px}ul.anchors li{overflow-wrap:anywhere}
footer{margin-top:30px;color:#8a94a3;font-size:12px}
@media print{
 body{background:#fff;font-size:10pt}main{max-width:none;padding:0}
 form.filters{display:none}.frame{overflow:visible;border:none}
 section.code{break-inside:avoid-page;border:none;border-top:1px solid #9aa5b4;border-radius:0;padding:8px 0}
 tr,li{break-inside:avoid}h2{break-after:avoid}
 td.cell,ol.examples li,.picked{-webkit-print-color-adjust:exact;print-color-adjust:exact}
 .picked{outline:none}
}
"""

JS = """
(function(){
var form=document.getElementById('filters');if(!form)return;
function q(s){return Array.prototype.slice.call(document.querySelectorAll(s));}
function num(el,d){var v=parseFloat(el.value);return isNaN(v)?d:v;}
function apply(){
 var doc=form.doc.value,code=form.code.value,role=form.role.value,lo=num(form.lo,0),hi=num(form.hi,1);
 q('#code-matrix tbody tr').forEach(function(tr){tr.hidden=doc!==''&&tr.getAttribute('data-doc')!==doc;});
 q('[data-col]').forEach(function(el){el.classList.toggle('picked',code!==''&&el.getAttribute('data-col')===code);});
 q('section.code').forEach(function(s){s.hidden=code!==''&&(' '+s.getAttribute('data-codes')+' ').indexOf(' '+code+' ')<0;});
 var total=0;
 q('ol.examples').forEach(function(ol){
  var limit=+ol.getAttribute('data-limit'),n=0;
  Array.prototype.forEach.call(ol.children,function(li){
   var s=+li.getAttribute('data-score');
   var ok=n<limit&&(doc===''||li.getAttribute('data-doc')===doc)&&(role===''||li.getAttribute('data-role')===role)&&s>=lo&&s<=hi;
   li.hidden=!ok;if(ok)n++;});
  var empty=ol.nextElementSibling;if(empty)empty.hidden=n>0;
  if(!ol.closest('section[hidden]'))total+=n;});
 var out=document.getElementById('shown');if(out)out.textContent=out.getAttribute('data-text').replace('{n}',total);
}
form.addEventListener('input',apply);form.addEventListener('change',apply);
form.addEventListener('submit',function(e){e.preventDefault();});
apply();
})();
"""


def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _pct(count: int, total: int) -> str:
    return "–" if total <= 0 else f"{100 * count / total:.0f} %"


def _f(x) -> str:
    return "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.2f}"


def _heat(value: float, top: float, hue: int) -> str:
    alpha = 0.0 if top <= 0 else min(1.0, value / top) * 0.75
    return f"background:hsla({hue},62%,48%,{alpha:.2f})"


# --------------------------------------------------------------------------- rendering


def _facts(ov: Overview, t: dict) -> str:
    f = ov.model.facts
    rows = [(t["model"], f"{f.get('model', ov.model.name)}" + (f" ({t['created']} {f['created'][:10]})" if f.get("created") else ""))]
    rows.append((t["codebook"], f"{ov.model.codebook.name} — {t['codes_n'].format(n=len(ov.model.codebook.leaf_ids))}"))
    if f.get("embedder"):
        extra = [t["lexical"]] if f.get("lexical") else []
        if f.get("context"):
            extra.append(f"{f['context']} {t['context']}")
        rows.append((t["embedder"], f["embedder"] + (" + " + ", ".join(extra) if extra else "")))
    if f.get("labels"):
        rows.append((t["classifier"], f"{f.get('classifier', '')}, C {f.get('C')}: {t['single' if f['labels'] == 'single' else 'multi']}"))
    if f.get("unit"):
        rows.append((t["unit"], f["unit"]))
    tr = f.get("training") or {}
    if tr:
        line = t["train_line"].format(documents=tr.get("documents", "?"), segments=tr.get("segments", "?"),
                                      coded=tr.get("coded_segments", "?"), coder=tr.get("coder", "–"))
        files = tr.get("files")
        rows.append((t["training"], line + (f"; {', '.join(map(str, files))}" if isinstance(files, list) and files else "")))
    cv = f.get("cv") or {}
    if "macro_f1" in cv:
        line = t["cv_line"].format(folds=cv.get("folds", "?"), micro=_f(cv.get("micro_f1")), macro=_f(cv.get("macro_f1")))
        if "parent_macro_f1" in cv:
            line += t["cv_parent"].format(pmacro=_f(cv["parent_macro_f1"]))
        rows.append((t["cv"], line))
    transfer = f.get("transfer") or {}
    if transfer:
        parts = []
        for direction, d in (transfer.get("directions") or {}).items():
            if isinstance(d, dict) and isinstance(d.get("micro_f1"), float):
                cv_own = d.get("cv_micro_f1_of_coded_register")
                parts.append(f"{direction}: micro-F1 {_f(d['micro_f1'])}" + (f" (CV {_f(cv_own)})" if isinstance(cv_own, float) else ""))
        if parts:
            rows.append((t["transfer"], "; ".join(parts)))
    return "<dl class='facts'>" + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in rows) + "</dl>"


def _warnings(ov: Overview, t: dict) -> str:
    missing = [w.split(":", 1)[1] for w in ov.warnings if w.startswith("source_missing:")]
    lines = []
    if missing:
        lines.append(t["w_source_missing"].format(x=", ".join(missing[:5]) + (f" (+{len(missing) - 5})" if len(missing) > 5 else "")))
    for w in ov.warnings:
        kind, _, x = w.partition(":")
        if kind != "source_missing" and f"w_{kind}" in t:
            lines.append(t[f"w_{kind}"].format(x=x))
    return "".join(f"<p class='warn'>{_e(line)}</p>" for line in lines)


def _filters(ov: Overview, t: dict) -> str:
    docs = "".join(f"<option value='{i}'>{_e(d.document)}</option>" for i, d in enumerate(ov.documents))
    depth = {c.id: len(ov.model.codebook.ancestors(c.id)) for c in ov.model.codebook.codes}
    codes = "".join(f"<option value='{_e(c)}'>{'  ' * depth[c]}{_e(c)}</option>" for c in ov.ids)
    roles = "".join(f"<option value='{_e(r)}'>{_e(r)}</option>" for r in ov.roles)
    return (
        f"<form class='filters' id='filters' aria-label='{_e(t['filters'])}'>"
        f"<label>{_e(t['f_doc'])}<select name='doc'><option value=''>{_e(t['all'])}</option>{docs}</select></label>"
        f"<label>{_e(t['f_code'])}<select name='code'><option value=''>{_e(t['all'])}</option>{codes}</select></label>"
        f"<label>{_e(t['f_role'])}<select name='role'><option value=''>{_e(t['all'])}</option>{roles}</select></label>"
        f"<label>{_e(t['f_score'])}<span><input name='lo' type='number' min='0' max='1' step='0.05' value='0'> – "
        f"<input name='hi' type='number' min='0' max='1' step='0.05' value='1'></span></label>"
        f"<span class='note' id='shown' data-text='{_e(t['shown'])}'></span></form>"
    )


def _matrix(ov: Overview, t: dict) -> str:
    parents = set(ov.model.codebook.parent_ids)
    names = {c.id: c.name for c in ov.model.codebook.codes}

    def cls(c: str) -> str:
        return " parent" if c in parents else ""

    top = {True: 0.0, False: 0.0}
    for d in ov.documents:
        for c in ov.ids:
            if d.codable:
                top[c in parents] = max(top[c in parents], d.counts[c] / d.codable)
    head = "".join(f"<th class='v{cls(c)}' data-col='{_e(c)}' title='{_e(names[c])}'>{_e(c)}</th>" for c in ov.ids)
    rows = []
    for i, d in enumerate(ov.documents):
        cells = "".join(
            f"<td class='cell{cls(c)}' data-col='{_e(c)}' style='{_heat(d.counts[c] / d.codable if d.codable else 0.0, top[c in parents], 212 if c in parents else 152)}'>"
            f"<span class='n'>{d.counts[c]}</span><small>{_pct(d.counts[c], d.codable)}</small></td>"
            for c in ov.ids
        )
        rows.append(f"<tr data-doc='{i}'><th class='row' scope='row' title='{_e(d.document)}'>{_e(d.document)}</th>"
                    f"<td>{d.segments}</td><td>{d.codable}</td>{cells}</tr>")
    n_seg = sum(d.segments for d in ov.documents)
    n_cod = sum(d.codable for d in ov.documents)
    sums = "".join(f"<td class='cell{cls(c)}'>{sum(d.counts[c] for d in ov.documents)}<small>{_pct(sum(d.counts[c] for d in ov.documents), n_cod)}</small></td>" for c in ov.ids)
    return (
        f"<h2 id='matrix'>{_e(t['matrix'])}</h2><p class='note'>{_e(t['matrix_note'])}</p>"
        f"<div class='frame'><table id='code-matrix'><thead><tr><th class='row'>{_e(t['document'])}</th>"
        f"<th class='v'>{_e(t['segments'])}</th><th class='v'>{_e(t['codable'])}</th>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody><tfoot><tr class='sum'><td class='row'>{_e(t['total'])}</td><td>{n_seg}</td><td>{n_cod}</td>{sums}</tr></tfoot></table></div>"
    )


def _cooc_table(ov: Overview, M: np.ndarray, table_id: str) -> str:
    cb = ov.model.codebook
    parents = set(cb.parent_ids)
    lineage = {c: {c, *cb.ancestors(c)} for c in ov.ids}

    def related(a: str, b: str) -> bool:
        # A parent always co-occurs with its children: kept out of the colour scale.
        return a in lineage[b] or b in lineage[a]

    others = [int(M[a, b]) for a, ca in enumerate(ov.ids) for b, cb_ in enumerate(ov.ids) if not related(ca, cb_)]
    top = float(max(others, default=0))
    head = "".join(f"<th class='v{' parent' if c in parents else ''}' data-col='{_e(c)}'>{_e(c)}</th>" for c in ov.ids)
    rows = []
    for a, ca in enumerate(ov.ids):
        cells = []
        for b, cb_ in enumerate(ov.ids):
            v = int(M[a, b])
            style = "font-weight:600" if a == b else "color:#8a94a3" if related(ca, cb_) else _heat(v, top, 28)
            cells.append(f"<td class='cell{' parent' if cb_ in parents else ''}' style='{style}'>{v}</td>")
        rows.append(f"<tr><th class='row{' parent' if ca in parents else ''}' scope='row' data-col='{_e(ca)}'>{_e(ca)}</th>{''.join(cells)}</tr>")
    return f"<div class='frame'><table id='{table_id}'><thead><tr><th class='row'></th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"


def _example(ov: Overview, ex: Example, code: str, t: dict, docs: dict[str, tuple[int, int]], *, visible: bool) -> str:
    s = ov.segments[ex.segment]
    doc_index, doc_segments = docs[s.document]
    who = f"{s.speaker} ({s.role})" if s.speaker else s.role
    meta = (f"<b>{ex.score:.2f}</b> · {_e(s.document)} · {_e(t['seg_pos'].format(i=s.index + 1, n=doc_segments))} · "
            f"{_e(t['chars'].format(a=s.start, b=s.end))} · {_e(who)}"
            + (f" · {_e(t['codes_of'])}: {_e(', '.join(s.codes))}" if s.codes else ""))
    words = _e(s.words) + ("" if s.original else f" <small>{_e(t['cleaned'])}</small>")
    anchor = (f"<div class='anchor'>{_e(t['nearest'])} ({ex.similarity:.2f}): {t['q'].format(x=_e(ex.anchor))}</div>"
              if ex.anchor and ex.similarity is not None else "")
    return (f"<li class='{'yes' if code in s.codes else 'no'}' data-doc='{doc_index}' data-role='{_e(s.role)}' data-score='{ex.score:.4f}'"
            f"{'' if visible else ' hidden'}><div class='meta'>{meta}</div><blockquote>{words}</blockquote>{anchor}</li>")


def _examples(ov: Overview, items: list[Example], code: str, t: dict, limit: int) -> str:
    docs = {d.document: (i, d.segments) for i, d in enumerate(ov.documents)}
    lis = "".join(_example(ov, ex, code, t, docs, visible=i < limit) for i, ex in enumerate(items))
    return (f"<ol class='examples' data-limit='{limit}'>{lis}</ol>"
            f"<p class='empty'{' hidden' if items else ''}>{_e(t['none'])}</p>")


def _code_section(ov: Overview, cv: CodeView, t: dict) -> str:
    code = cv.code
    cv_fig = ((ov.model.facts.get("cv") or {}).get("per_code") or {}).get(code.id, {})
    head = [f"<h3>{_e(code.id)} — {_e(code.name)}</h3>", f"<span>{_e(t['coded_n'].format(n=cv.coded))}</span>"]
    if cv.threshold is not None:
        head.append(f"<span>{_e(t['threshold'])} {cv.threshold:.2f}</span>")
    if "f1" in cv_fig:
        head.append(f"<span>{_e(t['f1'])} {cv_fig['f1']:.2f}</span>")
    definition = f"<p class='note'>{_e(code.definition)}</p>" if code.definition else ""
    if cv.terms:
        terms = "<ul class='terms'>" + "".join(f"<li>{_e(w)} <small>{v:.2f}</small></li>" for w, v in cv.terms) + "</ul>"
    else:
        terms = f"<p class='empty'>{_e(t['no_terms'])}</p>"
    if cv.anchors:
        anchors = "<ul class='anchors'>" + "".join(
            "<li>" + t["q"].format(x=_e(a)) + (f" <small>({_e(t['anchor_sim'])}: {sim:.2f})</small>" if sim is not None else "") + "</li>"
            for a, sim in cv.anchors) + "</ul>"
    else:
        anchors = f"<p class='empty'>{_e(t['no_anchors'])}</p>"
    codes_attr = " ".join([code.id, *ov.model.codebook.ancestors(code.id)])
    return (
        f"<section class='code' id='code-{_e(code.id)}' data-codes='{_e(codes_attr)}'><div class='head'>{''.join(head)}</div>{definition}"
        f"<div class='cols'><div><h4>{_e(t['top'])}</h4>{_examples(ov, cv.top, code.id, t, SHOW_TOP)}</div>"
        f"<div><h4>{_e(t['borderline'])}: {_e(t['above'])}</h4>{_examples(ov, cv.above, code.id, t, SHOW_BORDER)}"
        f"<h4>{_e(t['borderline'])}: {_e(t['below'])}</h4>{_examples(ov, cv.below, code.id, t, SHOW_BORDER)}</div></div>"
        f"<h4>{_e(t['why'])}: {_e(t['terms'])}</h4>{terms}<h4>{_e(t['why'])}: {_e(t['anchors'])}</h4>{anchors}</section>"
    )


def render_overview(ov: Overview, *, lang: str = "de") -> str:
    """The overview as one self-contained HTML page (``lang``: ``de`` or ``en``)."""
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, found {lang!r}")
    t = TEXT[lang]
    n_seg = sum(d.segments for d in ov.documents)
    n_cod = sum(d.codable for d in ov.documents)
    run = t["run"].format(docs=len(ov.documents), segs=n_seg, codable=n_cod, model=ov.model.name)
    parts = [
        f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width,initial-scale=1'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">",
        f"<title>{_e(t['title'])} — {_e(ov.model.name)}</title><style>{CSS}</style></head><body><main>",
        f"<h1>{_e(t['title'])}</h1><p class='note'>{_e(run)}</p>",
        _facts(ov, t),
        _warnings(ov, t),
        _filters(ov, t),
        f"<p class='note'>{_e(t['f_note'])}</p>",
        _matrix(ov, t),
        f"<h2 id='cooccurrence'>{_e(t['cooc'])}</h2>",
        f"<h4>{_e(t['cooc_same'])}</h4><p class='note'>{_e(t['cooc_same_note'])}</p>",
        _cooc_table(ov, ov.same, "cooc-same"),
        f"<h4>{_e(t['cooc_near'].format(w=ov.window))}</h4><p class='note'>{_e(t['cooc_near_note'].format(w=ov.window))}</p>",
        _cooc_table(ov, ov.near, "cooc-near"),
        f"<h2 id='codes'>{_e(t['per_code'])}</h2>",
        *(_code_section(ov, cv, t) for cv in ov.codes),
        f"<footer>{_e(t['footer'].format(v=__version__))}</footer></main>",
        f"<script>{JS}</script></body></html>\n",
    ]
    return "".join(parts)


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
    if lang not in TEXT:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, found {lang!r}")
    paths = overview_inputs(out_dir) if paths is None else [Path(p) for p in paths]
    ov = build_overview(paths, model=model, window=window)
    page = render_overview(ov, lang=lang)
    target = Path(target) if target is not None else Path(out_dir) / OVERVIEW_FILE
    with atomic_open(target, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)
    return target, ov
