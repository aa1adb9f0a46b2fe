"""Active learning: which uncoded segments a coder should code next.

A round of the loop *code → train → suggest → code* scores every uncoded, codable segment
of a pool with the current model and picks the ``n`` whose codes would teach the model
most. The choice (:func:`select`) combines ideas from the active-learning literature
(Settles 2009, *Active Learning Literature Survey*; Lewis & Gale 1994 for uncertainty
sampling; Settles & Craven 2008 for information density; Arthur & Vassilvitskii 2007 for
k-means++-style spreading):

* **uncertainty** — multi-label: how close a code's probability lies to that code's
  decision threshold (1 at the threshold, 0 at 0 or 1), the closest code counting;
  single-label: one minus the margin between the two best codes' scores (one code or
  none: "no code", the share the scores leave of 1, competes as one more code);
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
  about the one the model hesitates on most (multi-label: every code brings its own
  best candidates to the batch, so a code can be asked about even when the segments of
  another, rarer code top the ranking).

Every choice is deterministic for a seed: ties are broken by a seeded permutation.

:mod:`pipeline.research.active` runs a round on files (``autocode suggest``) with this
choice and writes what the coder works with; the review workbench (:mod:`pipeline.review`)
orders its "what to code next" queue by it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from pipeline.core.errors import InputError


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


def _with_none(P: np.ndarray) -> np.ndarray:
    """Scores of one code or none (``classifier.labels: exclusive``) with "no code", the
    share they leave of 1, as a last column: shape (n_segments, n_codes + 1)."""
    return np.hstack([P, np.clip(1.0 - P.sum(axis=1, keepdims=True), 0.0, 1.0)])


def uncertainty(proba: np.ndarray, *, thresholds: np.ndarray | None = None, single: bool = False, none: bool = False) -> np.ndarray:
    """Per-code uncertainty of each segment, in [0, 1].

    Args:
        proba: ndarray of shape (n_segments, n_codes): the model's probabilities
            (multi-label) or scores summing to 1 per row (single-label).
        thresholds: ndarray of shape (n_codes,), the per-code decision thresholds
            (multi-label; default 0.5).
        single: Whether exactly one code is assigned per segment.
        none: With ``single``: the scores leave "no code" its share (one code or none):
            it competes with the codes, and a code beside it in the two best gets the
            uncertainty.

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
        if P.shape[1] + none < 2:
            return out
        Q = _with_none(P) if none else P
        order = np.argsort(-Q, axis=1, kind="stable")[:, :2]
        rows = np.arange(len(P))
        margin = Q[rows, order[:, 0]] - Q[rows, order[:, 1]]
        for cols in order.T:
            code = cols < P.shape[1]  # "no code" has no column of its own
            out[rows[code], cols[code]] = 1.0 - margin[code]
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
    none: bool = False,
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
        none: With ``single``: one code or none (see :func:`uncertainty`).
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

    U = uncertainty(P, thresholds=thresholds, single=single, none=none)
    Q = _with_none(P) if single and none else P  # the scores the single-label margin runs over
    counts = np.zeros(len(codes)) if code_counts is None else np.asarray(code_counts, dtype=np.float64)
    weight = (1.0 + counts) ** (-strategy.rarity)
    W = U * weight
    focus = np.argmax(W, axis=1)
    score = W[np.arange(m), focus]
    if single and Q.shape[1] >= 2:
        # The reason names the pair the model hesitates between.
        pair = np.argsort(-Q, axis=1, kind="stable")[:, :2]
    doc_coded = Counter({str(k): int(v) for k, v in (document_counts or {}).items()})

    # Seeded tie-break: a stable sort of a seeded permutation.
    perm = rng.permutation(m)
    order = perm[np.argsort(-score[perm], kind="stable")]
    pool = order[: max(n * max(strategy.candidates, 1), n)]
    if strategy.diversity == 0 and embeddings is None:
        pool = pool[:n]
    about = focus[pool]  # the code each candidate is asked about
    if strategy.spread and not single:
        # Each code brings its own best candidates: the codes whose segments never top the
        # overall ranking (one rare code near its threshold outranks everything) can only
        # be asked about when they are in the pool. A segment may so be a candidate for
        # several codes; it is picked once.
        per_code = max(strategy.candidates, 1) * -(-n // len(codes))
        pairs = dict.fromkeys(zip(pool.tolist(), about.tolist()))
        for j in range(len(codes)):
            best = perm[np.argsort(-W[perm, j], kind="stable")][:per_code]
            pairs.update(dict.fromkeys((int(i), j) for i in best if W[i, j] > 0))
        pool = np.array([i for i, _ in pairs], dtype=int)
        about = np.array([j for _, j in pairs], dtype=int)

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
    base = W[pool, about]
    if strategy.density and embeddings is not None and m > 1:
        base = base * _density(Ec, embeddings) ** strategy.density
    code_batch = np.zeros(len(codes))  # picks of this batch, by the code they are about
    while len(picked) < min(n, len(set(pool.tolist()))):
        gain = base.copy()
        if strategy.documents:
            factor = np.array([(1.0 + doc_coded[d] + in_batch[d]) ** (-strategy.documents) for d in docs[pool]])
            gain = gain * factor
        if strategy.spread:
            gain = gain * (1.0 + code_batch[about]) ** (-strategy.spread)
        if embeddings is not None:
            distance = np.clip(1.0 - nearest, 0.0, 2.0)
            if strategy.diversity:
                gain = gain * distance**strategy.diversity
            gain = np.where(distance < strategy.duplicate, -1.0, gain)
        gain = np.where(taken, -np.inf, gain)
        k = int(np.argmax(gain))
        if not np.isfinite(gain[k]) or gain[k] < 0:
            break  # only near-copies left
        taken |= pool == pool[k]
        picked.append(k)
        in_batch[docs[pool[k]]] += 1
        code_batch[about[k]] += 1
        if embeddings is not None:
            nearest = np.maximum(nearest, _cosine_similarity(Ec, Ec[k : k + 1]).ravel())

    out = []
    for k in picked:
        i, j = int(pool[k]), int(about[k])
        if single and Q.shape[1] >= 2:
            asked = tuple(codes[c] for c in pair[i] if c < len(codes))
            a, b = (codes[j] if j < len(codes) else "no code" for j in pair[i])
            why = f"unsure between {a} ({Q[i, pair[i][0]]:.2f}) and {b} ({Q[i, pair[i][1]]:.2f})"
        else:
            asked = (codes[j],)
            t = 0.5 if thresholds is None else float(thresholds[j])
            why = f"{codes[j]} at {P[i, j]:.2f}, near its threshold {t:.2f}"
        notes = [why]
        rare = [c for c in asked if counts[codes.index(c)] < 5]
        if strategy.rarity and rare:
            notes.append("rare code " + ", ".join(f"{c} ({int(counts[codes.index(c)])} coded)" for c in rare))
        if strategy.documents and not doc_coded[docs[i]] and docs[i]:
            notes.append(f"document {docs[i]} not coded yet")
        out.append(Pick(i, float(base[k]), float(U[i, j]), asked, "; ".join(notes)))
    return out
