"""Cross-validation beyond one fixed configuration: the nested cross-validation of the
configuration selection (:func:`cross_validate_selected`), the learning curve, and per
code how many coded segments a target F1 needs (:func:`segments_needed`).

A model made by configuration selection (``autocode train`` without ``--config``) is
evaluated as it was made: each outer fold of :func:`pipeline.learn.classify.make_folds`
(grouped by document, as every cross-validation) runs the whole selection
(:func:`pipeline.learn.select.train_selected`, with its own inner folds) on its training
part and codes its held-out documents as ``autocode classify`` does. The selection's own
out-of-fold figures in the model card are optimistic (the choice was made on them);
these are not.

Each point of the learning curve trains the nested, document-grouped cross-validation of
:mod:`pipeline.learn.cv` on a share of every outer fold's training segments and tests on
the whole held-out documents.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from pipeline.core.config import RunConfig, config_from_dict
from pipeline.core.errors import CodingError, ModelError
from pipeline.learn.classify import Folds, make_folds
from pipeline.learn.cv import cv_figures, fit_predict, per_code_scores, shared_embeddings
from pipeline.learn.select import MEASURES, Candidate, default_pool, presets, train_selected


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


# --- the selection procedure, cross-validated ---------------------------------------------------


@dataclass(frozen=True)
class FoldChoice:
    """What one outer fold of the nested selection chose on its training part.

    Attributes:
        fold: The fold's number, from 1.
        documents: The held-out documents, sorted.
        segments: Held-out examples (segments; with ``--combine each`` once per coder).
        choice: ``"whole model"`` or ``"per code"`` (the card's ``selection.choice``).
        members: The candidates the fold's model is made of.
        per_code: Code -> the candidate that codes it.
    """

    fold: int
    documents: tuple[str, ...]
    segments: int
    choice: str
    members: tuple[str, ...]
    per_code: dict[str, str]

    def describe(self) -> str:
        """The choice in a few words, e.g. ``"whole model: fast C=1"``."""
        return f"{self.choice}: {' + '.join(self.members)}"


def selection_settings(card: Mapping, base: RunConfig) -> tuple[list[Candidate], str, bool]:
    """How to run again the selection a model card records: ``(pool, measure, ensemble)``
    for :func:`pipeline.learn.select.train_selected`.

    The pool is the card's candidates: a preset family (:func:`pipeline.learn.select.presets`
    of ``base``) at the recorded C and decision rule (``labels``: one code or none, or
    multi-label), or the configuration the card records for a chosen candidate (taken as
    recorded where there is one); the mean of two candidates is tried again when the card
    lists one.

    Args:
        card: The model card (``Model.card``) with a ``selection`` section.
        base: The model's run configuration (segmentation and training procedure).

    Raises:
        ModelError: The card lacks what the selection needs, or names a candidate whose
            configuration it does not record.
    """
    sel = card.get("selection") or {}
    measure = str(sel.get("measure", "")).removesuffix("-F1")
    if measure not in MEASURES or not sel.get("candidates"):
        raise ModelError(
            f"the model card's selection records measure {sel.get('measure')!r} and {len(sel.get('candidates') or [])} candidates; "
            f"expected one of {', '.join(m + '-F1' for m in MEASURES)} and at least one candidate. "
            "Train the model again, or evaluate one configuration with --config FILE."
        )
    named, recorded = presets(base), sel.get("member_configs", {})
    pool = []
    for c in sel["candidates"]:
        if c["family"] == "ensemble":
            continue
        if c["name"] in recorded:
            config = config_from_dict(recorded[c["name"]])
        elif c["family"] in named:
            # the decision rule as recorded (one code or none, or multi-label: older cards)
            clf = named[c["family"]].classifier
            config = replace(named[c["family"]], classifier=replace(clf, C=float(c["C"]), labels=c.get("labels", clf.labels)))
        else:
            raise ModelError(
                f"the model card names candidate {c['name']!r} of family {c['family']!r} but records no configuration for it "
                f"(known families: {', '.join(named)}). Evaluate one configuration with --config FILE."
            )
        pool.append(Candidate(c["name"], c["family"], config))
    ensemble = any(c["family"] == "ensemble" for c in sel["candidates"])
    return pool, measure, ensemble


def selected_cv_predictions(
    data,
    *,
    config: RunConfig,
    measure: str = "micro",
    pool: Sequence[Candidate] | None = None,
    ensemble: bool = True,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, Folds, list[FoldChoice]]:
    """Out-of-fold predictions of the whole selection procedure: each outer fold chooses
    and trains on the other documents (:func:`pipeline.learn.select.train_selected`) and
    codes its own as ``autocode classify`` does (:func:`predict_matrix`).

    Args:
        data: A :class:`pipeline.learn.fit.TrainingSet`.
        config: The base configuration (segmentation, training procedure, folds).
        measure, pool, ensemble: As for :func:`pipeline.learn.select.train_selected`
            (pool None: its candidates of ``config``).
        progress: Called with a line as each outer fold starts and ends.

    Returns:
        ``(pred, folds, chosen)``: bool ndarray of shape (n_segments, n_codes), the outer
        :class:`pipeline.learn.classify.Folds`, and one :class:`FoldChoice` per fold.
    """
    say = progress or (lambda line: None)
    made = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed)
    if not made.splits:
        raise CodingError(f"cross-validation needs at least two coded segments; found {len(data.segments)}. Code more segments.")
    pred = np.zeros_like(data.Y, dtype=bool)
    chosen = []
    n = len(made.splits)
    for k, (train, test) in enumerate(made.splits, 1):
        clock = time.perf_counter()
        docs = tuple(sorted({str(d) for d in data.groups[test]}))
        say(f"outer fold {k}/{n}: choosing a configuration on {len(train)} segments of {len(set(data.groups[train]))} documents, "
            f"then coding the {len(test)} held-out segments ({', '.join(docs)})")
        model = train_selected(data.subset(train), base=config, measure=measure, pool=pool, ensemble=ensemble)
        pred[test] = predict_matrix(model, data.subset(test))
        sel = model.card["selection"]
        chosen.append(FoldChoice(k, docs, len(test), sel["choice"], tuple(sel["members"]), dict(sel["per_code"])))
        scores = per_code_scores(data.Y[test], pred[test], data.codebook.leaf_ids)
        say(f"outer fold {k}/{n} chose {chosen[-1].describe()}; held out: micro-F1 {scores['micro_f1']:.3f} "
            f"({time.perf_counter() - clock:.1f} s)")
    return pred, made, chosen


def cross_validate_selected(
    data,
    *,
    config: RunConfig,
    measure: str = "micro",
    pool: Sequence[Candidate] | None = None,
    ensemble: bool = True,
    progress: Callable[[str], None] | None = None,
) -> dict:
    """The nested cross-validation of the selection procedure (:func:`selected_cv_predictions`),
    with the figures of :func:`pipeline.learn.cv.cross_validate`.

    Returns:
        The dict of :func:`pipeline.learn.cv.cross_validate`, and ``evaluated`` (what
        was cross-validated, in words) and ``selection``: ``nested`` (True),
        ``measure`` (e.g. ``"micro-F1"``), ``candidates`` (their names) and ``folds``
        (one dict of :class:`FoldChoice` per outer fold).
    """
    pool = list(pool) if pool is not None else default_pool(config, data.Y)
    pred, made, chosen = selected_cv_predictions(data, config=config, measure=measure, pool=pool, ensemble=ensemble, progress=progress)
    # accuracy where every candidate codes one code (or none) per segment
    result = cv_figures(data, pred, made, single=all(c.config.classifier.labels != "multi" for c in pool))
    result["evaluated"] = (f"the selection procedure, nested: each of the {len(chosen)} outer folds chose its own configuration "
                           f"(among {len(pool)} candidate{'s' if len(pool) != 1 else ''}, by {measure}-F1) "
                           "on its training part and coded its held-out documents as 'autocode classify' does")
    result["selection"] = {"nested": True, "measure": f"{measure}-F1", "candidates": [c.name for c in pool],
                           "folds": [asdict(c) for c in chosen]}
    return result


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
