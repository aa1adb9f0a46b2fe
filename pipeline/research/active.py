"""Active learning: which uncoded segments a coder should code next.

A round of the loop *code → train → suggest → code* scores every uncoded, codable segment
of a pool with the current model and picks the ``n`` whose codes would teach the model
most. The choice (:func:`select`) combines ideas from the active-learning literature
(Settles 2009, *Active Learning Literature Survey*; Lewis & Gale 1994 for uncertainty
sampling; Settles & Craven 2008 for information density; Arthur & Vassilvitskii 2007 for
k-means++-style spreading):

* **uncertainty** — multi-label: how close a code's probability lies to that code's
  decision threshold (1 at the threshold, 0 at 0 or 1), the closest code counting;
  single-label: one minus the margin between the two best codes' scores;
* **rare codes** — each code's uncertainty is weighted by ``(1 + coded)^(-rarity)``,
  ``coded`` the number of segments that already carry it: macro-F1 and the researcher
  both need the codes with few examples, and their decision boundaries are the least
  known (single-label: the weight of the better-weighted of the two best codes);
* **density** — an uncertain segment that resembles many others teaches more than an
  outlier: the score is multiplied by ``similarity^density``, the mean cosine
  similarity of the segment to its ten nearest neighbours in the pool;
* **diversity and coverage** — among the ``candidates × n`` best-scored segments, the
  batch is built greedily: each next segment maximises its score times its cosine
  distance (in embedding space) to everything coded or already picked, so fifty
  near-copies of one sentence are never suggested; near-duplicates (distance below
  ``duplicate``) are skipped outright; a document's segments are weighted down by
  ``(1 + coded or picked in that document)^(-documents)``, which favours documents not
  coded yet; and a segment is weighted down by ``(1 + picked in this batch about the
  same code)^(-spread)``, so that one batch asks about many codes, not fifty times
  about the one the model hesitates on most.

Every choice is deterministic for a seed: ties are broken by a seeded permutation.

The rest of the module turns a selection into what a coder works with: a unit CSV that
``autocode train`` reads back as hand codes once the ``codes`` column is filled
(:func:`write_suggestions_csv`), and a REFI-QDA project with the segments marked
(:func:`write_suggestions_qdpx`). :func:`segments_needed` reads a learning curve and
estimates per code how many coded segments a target F1 needs.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from pipeline.core.errors import InputError, OutputError

MARKER_CODE = "autocode-zu-kodieren"
MARKER_NAME = "autocode: zu kodieren"
CSV_FIELDS = ("id", "text", "codes", "coder", "document", "start", "end", "scores", "reason")


@dataclass(frozen=True)
class Strategy:
    """How :func:`select` trades the criteria off (see the module docstring).

    Attributes:
        name: Name in reports and ``--strategy``.
        rarity: Exponent of the rare-code weight ``(1 + coded)^(-rarity)``; 0: off.
        diversity: Exponent of the distance factor in the greedy batch; 0: the most
            uncertain segments are taken as they are (near-duplicates still skipped).
        documents: Exponent of the document weight ``(1 + coded in document)^(-documents)``.
        candidates: The batch is chosen among the ``candidates × n`` best-scored segments.
        duplicate: Cosine distance under which a segment counts as a near-copy of one
            already coded or picked.
        random: Ignore the model: a seeded random sample (the baseline).
        spread: Exponent of the batch's code weight ``(1 + picked about that code)^(-spread)``.
        density: Exponent of the neighbourhood similarity (information density); 0: off.
    """

    name: str
    rarity: float = 0.5
    diversity: float = 1.0
    documents: float = 0.25
    candidates: int = 5
    duplicate: float = 0.02
    random: bool = False
    spread: float = 1.0
    density: float = 1.0


STRATEGIES: dict[str, Strategy] = {
    s.name: s
    for s in (
        Strategy("balanced"),
        Strategy("uncertainty", rarity=0.0, diversity=0.0, documents=0.0, candidates=1, spread=0.0, density=0.0),
        Strategy("diverse", rarity=0.0, documents=0.0, spread=0.0, density=0.0),
        Strategy("rare", rarity=1.0),
        Strategy("random", random=True),
    )
}
DEFAULT_STRATEGY = "balanced"


def get_strategy(name: str) -> Strategy:
    try:
        return STRATEGIES[name]
    except KeyError:
        raise InputError(f"strategy {name!r} is unknown; choose one of {', '.join(STRATEGIES)}.") from None


@dataclass(frozen=True)
class Pick:
    """One chosen segment.

    Attributes:
        index: Row in the arrays given to :func:`select`.
        score: Its score before the batch-building factors: uncertainty × rare-code weight ×
            density.
        uncertainty: Its uncertainty in [0, 1] before any weighting.
        codes: The code(s) the uncertainty is about: the code nearest its threshold
            (multi-label) or the two best codes (single-label).
        reason: Why it was chosen, in one line for the coder.
    """

    index: int
    score: float
    uncertainty: float
    codes: tuple[str, ...]
    reason: str


def uncertainty(proba: np.ndarray, *, thresholds: np.ndarray | None = None, single: bool = False) -> np.ndarray:
    """Per-code uncertainty of each segment, in [0, 1].

    Args:
        proba: ndarray of shape (n_segments, n_codes): the model's probabilities
            (multi-label) or scores summing to 1 per row (single-label).
        thresholds: ndarray of shape (n_codes,), the per-code decision thresholds
            (multi-label; default 0.5).
        single: Whether exactly one code is assigned per segment.

    Returns:
        ndarray of shape (n_segments, n_codes). Multi-label: ``1 - |p - t| / (t or 1 - t)``,
        1 where a code's probability sits on its threshold. Single-label: ``1 - (p1 - p2)``
        in the columns of the two best codes, 0 elsewhere.

    >>> uncertainty(np.array([[0.5, 0.9], [0.3, 0.0]])).round(2).tolist()
    [[1.0, 0.2], [0.6, 0.0]]
    """
    P = np.asarray(proba, dtype=np.float64)
    if P.ndim != 2:
        raise ValueError(f"proba must have shape (n_segments, n_codes), found {P.shape}")
    if single:
        out = np.zeros_like(P)
        if P.shape[1] < 2:
            return out
        order = np.argsort(-P, axis=1, kind="stable")[:, :2]
        rows = np.arange(len(P))
        margin = P[rows, order[:, 0]] - P[rows, order[:, 1]]
        out[rows, order[:, 0]] = 1.0 - margin
        out[rows, order[:, 1]] = 1.0 - margin
        return out
    t = np.full(P.shape[1], 0.5) if thresholds is None else np.asarray(thresholds, dtype=np.float64)
    span = np.where(P < t, t, 1.0 - t)
    return np.clip(1.0 - np.abs(P - t) / np.maximum(span, 1e-9), 0.0, 1.0)


def _unit_rows(M):
    """Rows scaled to unit length (dense float64 or CSR)."""
    if sp.issparse(M):
        M = sp.csr_matrix(M, dtype=np.float64)
        norm = np.sqrt(np.asarray(M.multiply(M).sum(axis=1)).ravel())
        return sp.diags(1.0 / np.where(norm > 0, norm, 1.0)) @ M
    M = np.asarray(M, dtype=np.float64)
    norm = np.linalg.norm(M, axis=1, keepdims=True)
    return M / np.where(norm > 0, norm, 1.0)


def _cosine_similarity(A, B) -> np.ndarray:
    S = A @ B.T
    return S.toarray() if sp.issparse(S) else np.asarray(S)


def _density(candidates, embeddings, *, k: int = 10, chunk: int = 1024) -> np.ndarray:
    """Mean cosine similarity of each candidate (unit rows, themselves rows of
    ``embeddings``) to its ``k`` nearest other rows of ``embeddings``, clipped to [0, 1].

    >>> E = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0]])
    >>> _density(_unit_rows(E[:1]), E, k=1).round(3).tolist()
    [0.995]
    """
    every = _unit_rows(embeddings if not sp.issparse(embeddings) else sp.csr_matrix(embeddings))
    k = min(k, every.shape[0] - 1)
    out = np.zeros(candidates.shape[0])
    for a in range(0, candidates.shape[0], chunk):
        S = _cosine_similarity(candidates[a : a + chunk], every)
        # The largest similarity is the candidate with itself.
        top = np.partition(S, -k - 1, axis=1)[:, -k - 1 : -1]
        out[a : a + chunk] = np.clip(top.mean(axis=1), 0.0, 1.0)
    return out


def select(
    proba: np.ndarray,
    *,
    n: int,
    codes: Sequence[str],
    thresholds: np.ndarray | None = None,
    single: bool = False,
    embeddings=None,
    coded_embeddings=None,
    documents: Sequence[str] | None = None,
    code_counts: np.ndarray | None = None,
    document_counts: Mapping[str, int] | None = None,
    strategy: Strategy | str = DEFAULT_STRATEGY,
    seed: int = 0,
) -> list[Pick]:
    """Choose ``n`` of the scored segments to code next.

    Args:
        proba: ndarray of shape (n_segments, n_codes), the current model's scores of the
            candidate segments (uncoded and codable only; the caller filters).
        n: How many to choose (fewer are returned when fewer candidates exist).
        codes: The code of each column.
        thresholds: ndarray of shape (n_codes,) (multi-label).
        single: Single-label scores (margin of the two best codes).
        embeddings: ndarray or sparse matrix of shape (n_segments, dim), for diversity;
            None: no diversity, no duplicate check.
        coded_embeddings: Embeddings of the segments already coded, shape (n_coded, dim):
            candidates close to them count as near-copies too.
        documents: The document of each candidate, shape (n_segments,).
        code_counts: ndarray of shape (n_codes,): how many coded segments carry each code.
        document_counts: Coded segments per document (absent: none coded).
        strategy: A :class:`Strategy` or the name of one in :data:`STRATEGIES`.
        seed: Breaks ties (and draws the random baseline) reproducibly.

    Returns:
        The picks in the order chosen (most useful first).
    """
    strategy = get_strategy(strategy) if isinstance(strategy, str) else strategy
    P = np.asarray(proba, dtype=np.float64)
    m = len(P)
    if n < 1:
        raise ValueError(f"n must be at least 1, found {n}")
    if P.ndim != 2 or P.shape[1] != len(codes):
        raise ValueError(f"proba must have shape (n_segments, {len(codes)}), found {P.shape}")
    rng = np.random.default_rng(seed)
    if m == 0:
        return []
    docs = np.asarray(documents if documents is not None else [""] * m, dtype=object)
    if strategy.random:
        chosen = np.sort(rng.choice(m, size=min(n, m), replace=False))
        return [Pick(int(i), 0.0, 0.0, (), "random sample (baseline)") for i in chosen]

    U = uncertainty(P, thresholds=thresholds, single=single)
    counts = np.zeros(len(codes)) if code_counts is None else np.asarray(code_counts, dtype=np.float64)
    weight = (1.0 + counts) ** (-strategy.rarity)
    W = U * weight
    focus = np.argmax(W, axis=1)
    raw = U[np.arange(m), focus]
    score = W[np.arange(m), focus]
    if single and P.shape[1] >= 2:
        # The reason names the pair the model hesitates between.
        pair = np.argsort(-P, axis=1, kind="stable")[:, :2]
    doc_coded = Counter({str(k): int(v) for k, v in (document_counts or {}).items()})

    # Seeded tie-break: a stable sort of a seeded permutation.
    perm = rng.permutation(m)
    order = perm[np.argsort(-score[perm], kind="stable")]
    pool = order[: max(n * max(strategy.candidates, 1), n)]
    if strategy.diversity == 0 and embeddings is None:
        pool = pool[:n]

    if embeddings is not None:
        Ec = _unit_rows(embeddings[pool] if not sp.issparse(embeddings) else sp.csr_matrix(embeddings)[pool])
        nearest = np.zeros(len(pool))  # highest similarity to anything coded or picked
        if coded_embeddings is not None and coded_embeddings.shape[0]:
            K = _unit_rows(coded_embeddings)
            for a in range(0, len(pool), 2048):
                nearest[a : a + 2048] = _cosine_similarity(Ec[a : a + 2048], K).max(axis=1)
    picked: list[int] = []
    taken = np.zeros(len(pool), dtype=bool)
    in_batch: Counter = Counter()
    base = score[pool]
    if strategy.density and embeddings is not None and m > 1:
        base = base * _density(Ec, embeddings) ** strategy.density
    focus_pool = focus[pool]
    code_batch = np.zeros(len(codes))  # picks of this batch, by the code they are about
    while len(picked) < min(n, len(pool)):
        gain = base.copy()
        if strategy.documents:
            factor = np.array([(1.0 + doc_coded[d] + in_batch[d]) ** (-strategy.documents) for d in docs[pool]])
            gain = gain * factor
        if strategy.spread:
            gain = gain * (1.0 + code_batch[focus_pool]) ** (-strategy.spread)
        if embeddings is not None:
            distance = np.clip(1.0 - nearest, 0.0, 2.0)
            if strategy.diversity:
                gain = gain * distance**strategy.diversity
            gain = np.where(distance < strategy.duplicate, -1.0, gain)
        gain = np.where(taken, -np.inf, gain)
        k = int(np.argmax(gain))
        if not np.isfinite(gain[k]) or gain[k] < 0:
            break  # only near-copies left
        taken[k] = True
        picked.append(k)
        in_batch[docs[pool[k]]] += 1
        code_batch[focus_pool[k]] += 1
        if embeddings is not None:
            nearest = np.maximum(nearest, _cosine_similarity(Ec, Ec[k : k + 1]).ravel())

    out = []
    for k in picked:
        i = int(pool[k])
        if single and P.shape[1] >= 2:
            about = tuple(codes[j] for j in pair[i])
            why = f"unsure between {about[0]} ({P[i, pair[i][0]]:.2f}) and {about[1]} ({P[i, pair[i][1]]:.2f})"
        else:
            j = int(focus[i])
            about = (codes[j],)
            t = 0.5 if thresholds is None else float(thresholds[j])
            why = f"{codes[j]} at {P[i, j]:.2f}, near its threshold {t:.2f}"
        notes = [why]
        rare = [c for c in about if counts[codes.index(c)] < 5]
        if strategy.rarity and rare:
            notes.append("rare code " + ", ".join(f"{c} ({int(counts[codes.index(c)])} coded)" for c in rare))
        if strategy.documents and not doc_coded[docs[i]] and docs[i]:
            notes.append(f"document {docs[i]} not coded yet")
        out.append(Pick(i, float(base[k]), float(raw[i]), about, "; ".join(notes)))
    return out


# --- one round on files ------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    """One segment suggested for coding, with where it is and why.

    Attributes:
        id: The segment id (``<document>:<index>`` or the unit id).
        document: Its document (file stem).
        start, end: Offsets of the segment in the document's original text (end exclusive).
        text: The document's own words there (``original[start:end]``).
        scores: The current model's scores of its best codes (at most five), best first.
        reason: Why it was chosen.
    """

    id: str
    document: str
    start: int
    end: int
    text: str
    scores: tuple[tuple[str, float], ...]
    reason: str


@dataclass(frozen=True)
class SuggestResult:
    """A round of :func:`suggest`.

    Attributes:
        suggestions: The chosen segments, most useful first.
        model: The model that scored them (trained on the hand codes or loaded).
        pool: How many pool segments were candidates (codable, not coded).
        excluded: Pool segments left out because they are coded, not codable, or the same
            text as a coded segment (keys ``coded``, ``not_codable``, ``same_text``).
        coded: How many segments are coded, per code (``{code: n}``).
        transcripts: The pool documents, by id (for the QDA export).
        seconds: Time of the round's parts (``train``, ``features``, ``select``).
        coder: Whose hand codes counted.
    """

    suggestions: tuple[Suggestion, ...]
    model: object
    pool: int
    excluded: dict[str, int]
    coded: dict[str, int]
    transcripts: dict = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    coder: str = ""


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


def suggest(
    coded: Sequence[str | Path],
    pool: Sequence[str | Path],
    *,
    n: int,
    config=None,
    codebook=None,
    model=None,
    coder: str | None = None,
    texts: Sequence[str | Path] = (),
    seed: int = 0,
    strategy: Strategy | str = DEFAULT_STRATEGY,
) -> SuggestResult:
    """Train (or take) a model on the hand codes and choose ``n`` pool segments to code.

    Args:
        coded: Hand-code files (any format :func:`pipeline.text.codings.read_hand_codes` reads).
        pool: Documents or folders to choose from (any input format).
        n: How many segments to suggest.
        config: Run configuration for training (ignored with ``model``).
        codebook: The code system (default: the model's, or the codes found).
        model: A trained :class:`pipeline.learn.model.Model`; None: train one on ``coded``.
        coder: Whose hand codes count (default: the coder with most codings).
        texts: Extra folders where span documents are looked up.
        seed: Seed of the tie-breaks.
        strategy: See :data:`STRATEGIES`.

    Segments of documents that carry hand codes are never suggested (autocode reads a
    coded document as coded throughout: its uncoded segments are "no code"), nor segments
    whose words equal a coded segment's (a suggestion file coded in an earlier round),
    nor interviewer turns, headings and footnotes.
    """
    from pipeline.text.codings import read_hand_codes
    from pipeline.text.ingest import collect_inputs, read_transcript
    from pipeline.text.segment import segment_transcript
    from pipeline.learn.features import embed_segments
    from pipeline.learn.fit import build_training_set
    from pipeline.learn.train import train

    clock = {}
    start = time.perf_counter()
    if model is None:
        if config is None:
            raise ValueError("suggest needs a run configuration or a trained model")
        model = train(coded, config=config, codebook=codebook, coder=coder, texts=texts, evaluate=False)
    book = model.codebook
    hand = read_hand_codes(coded, codebook=book, texts=texts)
    data = build_training_set(hand, codebook=book, config=model.config, coder=coder)
    clock["train"] = time.perf_counter() - start

    start = time.perf_counter()
    # A span-coded document is coded throughout; a unit file (an earlier suggestion file,
    # even one naming pool documents) codes only its units, found below by their words.
    coded_docs = {d for d, t in hand.transcripts.items() if t.kind != "units"}
    coded_text = {_key(hand.transcripts[s.transcript].text[s.start : s.end]) for s in data.segments}
    transcripts = {}
    segments = []
    excluded = Counter()
    for path in collect_inputs(list(pool)):
        t = read_transcript(path)
        if t.id in transcripts:
            raise InputError(f"{path}: a second pool document named {t.id!r}. Rename one of the files.")
        transcripts[t.id] = t
        segments.extend(segment_transcript(t, config=model.config.segment))
    candidates = []
    doc_counts: Counter = Counter()  # coded segments per pool document (found by their words)
    for i, s in enumerate(segments):
        if not s.codable:
            excluded["not_codable"] += 1
        elif s.transcript in coded_docs:
            excluded["coded"] += 1
        elif _key(transcripts[s.transcript].text[s.start : s.end]) in coded_text:
            excluded["same_text"] += 1
            doc_counts[s.transcript] += 1
        else:
            candidates.append(i)
    if not candidates:
        raise InputError(
            f"the pool has no uncoded codable segments ({sum(excluded.values())} segments: "
            f"{', '.join(f'{v} {k}' for k, v in sorted(excluded.items())) or 'none'}). Add documents that are not coded yet with --pool."
        )
    rows = np.array(candidates)
    # Every codable segment of the pool documents is embedded (all of them with context
    # features), as training embeds its documents: neighbours and a document's mean
    # (``features.center``) are then read from the whole document, as classify reads them.
    everything = embed_segments(model.embedder, segments, context=model.context)
    X = model.featurizer.transform(everything, [s.text for s in segments], [s.transcript for s in segments])[rows]
    E = everything[rows]
    proba = model.classifier.predict_proba(X)
    coded_E = model.embedder.encode(data.texts)
    clock["features"] = time.perf_counter() - start

    start = time.perf_counter()
    counts = data.Y.sum(axis=0)
    picks = select(
        proba,
        n=n,
        codes=model.codes,
        thresholds=model.classifier.thresholds_,
        single=model.config.classifier.labels == "single",
        embeddings=E,
        coded_embeddings=coded_E,
        documents=[segments[i].transcript for i in rows],
        code_counts=counts,
        document_counts=doc_counts,
        strategy=strategy,
        seed=seed,
    )
    clock["select"] = time.perf_counter() - start
    out = []
    for p in picks:
        s = segments[rows[p.index]]
        top = np.argsort(-proba[p.index], kind="stable")[:5]
        out.append(
            Suggestion(
                id=s.id,
                document=s.transcript,
                start=s.start,
                end=s.end,
                text=transcripts[s.transcript].text[s.start : s.end],
                scores=tuple((model.codes[j], round(float(proba[p.index, j]), 4)) for j in top),
                reason=p.reason,
            )
        )
    return SuggestResult(
        tuple(out),
        model,
        len(rows),
        dict(excluded),
        {c: int(v) for c, v in zip(model.codes, counts)},
        transcripts,
        {k: round(v, 3) for k, v in clock.items()},
        data.coder,
    )


# --- what the coder gets ---------------------------------------------------------------------


def _scores_cell(scores: Sequence[tuple[str, float]]) -> str:
    return "; ".join(f"{code} {p:.2f}" for code, p in scores)


def write_suggestions_csv(suggestions: Sequence[Suggestion], out: str | Path, *, coder: str, inputs: Sequence[str | Path] = ()) -> Path:
    """Write the suggestions as a unit CSV that ``autocode train`` reads as hand codes.

    Columns: ``id,text,codes,coder,document,start,end,scores,reason``. ``codes`` is left
    empty for the coder to fill (codes separated by ``;``); a row whose ``codes`` stay
    empty is read as "none of the codes" (delete rows you did not code). The unit reader
    uses ``id``, ``text``, ``codes`` and ``coder``; the other columns say where the segment
    is and why it was chosen.

    Raises:
        OutputError: ``out`` is one of the inputs (autocode never overwrites its input).
    """
    from pipeline.core.io import atomic_write_csv

    out = Path(out)
    for inp in inputs:
        if out.exists() and Path(inp).exists() and out.resolve() == Path(inp).resolve():
            raise OutputError(f"{out}: is one of the inputs; autocode never overwrites its input. Pass another --out.")
    rows = ([s.id, s.text, "", coder, s.document, s.start, s.end, _scores_cell(s.scores), s.reason] for s in suggestions)
    atomic_write_csv(out, list(CSV_FIELDS), rows)
    return out


def write_suggestions_qdpx(suggestions: Sequence[Suggestion], transcripts: Mapping, out: str | Path, *, codebook, model: str):
    """Write a REFI-QDA project holding the pool documents with suggestions, the code
    system plus a marker code ``autocode: zu kodieren``, and one marked selection per
    suggested segment (the reason and the model's best scores in its description).

    Returns:
        The :class:`pipeline.qda.export.ExportResult`.
    """
    from pipeline.core.codebook import Code, Codebook
    from pipeline.qda.export import ClassifiedDocument, ModelCoding, export_documents

    marker = Code(
        id=MARKER_CODE,
        name=MARKER_NAME,
        color="#ffb300",
        definition="Von autocode zum Kodieren vorgeschlagen: kodieren Sie das markierte Segment mit den passenden Codes.",
    )
    book = Codebook(name=codebook.name, codes=(*codebook.codes, marker), description=codebook.description)
    by_doc: dict[str, list[ModelCoding]] = {}
    for s in suggestions:
        note = f"{MARKER_NAME}: {s.reason} (scores: {_scores_cell(s.scores)})"
        by_doc.setdefault(s.document, []).append(ModelCoding(s.start, s.end, MARKER_CODE, None, s.id, note=note))
    docs = [
        ClassifiedDocument(id=d, text=transcripts[d].text, model=model, model_dir="", codings=tuple(c), path=str(transcripts[d].path))
        for d, c in sorted(by_doc.items())
    ]
    return export_documents(docs, out, codebook=book, model=model)


# --- how many more codes a target F1 needs ------------------------------------------------------


@dataclass(frozen=True)
class Needed:
    """Estimate of the coded segments a code needs to reach a target F1.

    Attributes:
        code: The code.
        coded: Segments coded at the curve's last point.
        f1: F1 at the curve's last point.
        target: The target F1.
        total: Coded segments in all at which the fitted curve reaches the target; None
            when it does not within the fit (or nothing could be fitted).
        ceiling: Where the fitted curve levels off (None: no fit).
        sentence: One plain sentence for the researcher.
    """

    code: str
    coded: int
    f1: float
    target: float
    total: int | None
    ceiling: float | None
    sentence: str


def _power_fit(n: np.ndarray, f: np.ndarray) -> tuple[float, float, float] | None:
    """Fit ``F1 ≈ a − b·n^(−c)`` (a ≤ 1, b ≥ 0, 0 < c ≤ 2) by least squares; None if it fails."""
    from scipy.optimize import curve_fit

    def curve(x, a, b, c):
        return a - b * np.power(x, -c)

    try:
        (a, b, c), _ = curve_fit(curve, n, f, p0=(min(1.0, f.max() + 0.1), 1.0, 0.5), bounds=([0.0, 0.0, 1e-3], [1.0, np.inf, 2.0]), maxfev=20000)
    except (RuntimeError, ValueError):
        return None
    return float(a), float(b), float(c)


def segments_needed(curve: Sequence[Mapping], *, target: float = 0.7) -> list[Needed]:
    """Per code, how many coded segments the learning curve suggests for ``target`` F1.

    Fits ``F1(n) ≈ a − b·n^(−c)`` (the usual inverse power law of learning curves, e.g.
    Figueroa et al. 2012, *Predicting sample size required for classification
    performance*) to each code's points and solves it for the target; where the fitted
    ceiling ``a`` lies below the target the answer is "not reachable within the fitted
    curve". With fewer than three points, or no F1 above zero, no estimate is given.

    Args:
        curve: Points of :func:`pipeline.research.evaluate.learning_curve` (``train_segments`` and
            ``per_code_f1``).
        target: The F1 to reach, in (0, 1].

    Returns:
        One :class:`Needed` per code, in the codes' order.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target F1 must be in (0, 1], found {target}")
    points = [p for p in curve if p.get("per_code_f1")]
    if not points:
        return []
    n = np.array([float(p["train_segments"]) for p in points])
    out = []
    for code in points[-1]["per_code_f1"]:
        f = np.array([float(p["per_code_f1"].get(code, 0.0)) for p in points])
        last_n, last_f = int(n[-1]), float(f[-1])
        head = f"{code}: F1 {last_f:.2f} with {last_n} coded segments"
        if last_f >= target:
            out.append(Needed(code, last_n, last_f, target, last_n, None, f"{head} already reaches the target {target:.2f}."))
            continue
        fit = _power_fit(n, f) if len(n) >= 3 and f.max() > 0 else None
        if fit is None:
            out.append(Needed(code, last_n, last_f, target, None, None, f"{head}; the curve gives no usable fit (F1 stays at zero or too few points), so no estimate: code more segments with this code."))
            continue
        a, b, c = fit
        formula = f"fit F1 ≈ {a:.2f} − {b:.2f}·n^−{c:.2f}"
        if a <= target + 1e-3 or b <= 0:
            out.append(Needed(code, last_n, last_f, target, None, a, f"{head}; {target:.2f} is not reachable within the fitted curve, which levels off at {a:.2f} ({formula}): more segments chosen at random will not do, code more segments that carry this code or sharpen its definition."))
            continue
        total = int(math.ceil((b / (a - target)) ** (1.0 / c)))
        more = max(total - last_n, 0)
        rough = " (more than ten times what is coded now: a rough extrapolation)" if total > 10 * last_n else ""
        out.append(Needed(code, last_n, last_f, target, total, a, f"{head}; about {total} coded segments in all ({more} more) should reach F1 {target:.2f}{rough} ({formula})."))
    return out
