"""Cross-validation beyond the model card's: what ``autocode classify`` codes in held-out
documents (:func:`predict_matrix`), the learning curve, and per code how many coded
segments a target F1 needs (:func:`segments_needed`).

Each point of the learning curve trains the nested, document-grouped cross-validation of
:mod:`pipeline.learn.cv` on a share of every outer fold's training segments and tests on
the whole held-out documents.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.core.errors import CodingError
from pipeline.learn.classify import make_folds
from pipeline.learn.cv import fit_predict, per_code_scores, shared_embeddings


def code_documents(model, segments) -> dict[tuple[str, str], list[str]]:
    """(document, segment id) -> the codes ``autocode classify`` gives it: each document of
    ``segments`` (their ``transcript``; each in order) coded whole, so that context features
    read every segment's neighbours. Keyed by the document too, since unit files number
    their units from 1 in every document."""
    by_doc: dict[str, list] = {}
    for seg in segments:
        by_doc.setdefault(seg.transcript, []).append(seg)
    return {(doc, r["id"]): r["codes"] for doc, segs in by_doc.items() for r in model.code_segments(segs)}


def predict_matrix(model, data) -> np.ndarray:
    """What ``autocode classify`` codes in the documents of ``data`` (a
    :class:`pipeline.learn.fit.TrainingSet`; :func:`code_documents`), as a bool matrix of
    shape (n_segments, n_codes) aligned with ``data.segments``."""
    codes = {c: j for j, c in enumerate(model.codes)}
    by_id = code_documents(model, data.all_segments)
    out = np.zeros(data.Y.shape, dtype=bool)
    for i, seg in enumerate(data.segments):
        for code in by_id[seg.transcript, seg.id]:
            out[i, codes[code]] = True
    return out


# --- the learning curve ----------------------------------------------------------------------------


def learning_curve(data, *, config: RunConfig, fractions: tuple[float, ...] = (0.125, 0.25, 0.5, 0.75, 1.0)) -> list[dict]:
    """Quality against the number of coded segments: for each fraction, every outer fold
    is trained on that share of its training documents' segments (drawn with the
    configured seed) and tested on the whole held-out documents.

    Returns:
        One dict per fraction: ``fraction``, ``train_segments`` (mean over folds),
        ``micro_f1``, ``macro_f1`` (pooled over folds), ``per_code_f1`` (``{code: F1}``).
    """
    folds = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed).splits
    if not folds:
        raise CodingError("a learning curve needs at least two coded segments.")
    shared = shared_embeddings(data, config)
    rng = np.random.default_rng(config.training.seed)
    orders = [rng.permutation(train_idx) for train_idx, _ in folds]
    out = []
    for fraction in fractions:
        pred = np.zeros_like(data.Y, dtype=bool)
        sizes = []
        for (train_idx, test_idx), order in zip(folds, orders):
            n = max(2, int(round(fraction * len(train_idx))))
            subset = np.sort(order[:n])
            sizes.append(len(subset))
            pred[test_idx] = fit_predict(data, config, subset, test_idx, shared)
        scores = per_code_scores(data.Y, pred, data.codebook.leaf_ids)
        out.append({"fraction": fraction, "train_segments": int(np.mean(sizes)), "micro_f1": scores["micro_f1"], "macro_f1": scores["macro_f1"],
                    "per_code_f1": {code: r["f1"] for code, r in scores["per_code"].items()}})
    return out


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
