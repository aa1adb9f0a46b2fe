"""Configuration selection: the configuration chosen on the user's own hand codes.

Which configuration codes best depends on the data: the shipped default (e5-small,
document centering, code prototypes, strong regularisation) carries over to text of
another kind; on a large corpus of one kind the fast preset (USE + word and character
n-grams) or the hybrid (e5 + n-grams in one classifier) often codes better. So
``autocode train`` without ``--config`` tries each candidate configuration (each over a
small grid of C) and keeps what codes best, per code where that wins.

Procedure (cost: one out-of-fold pass per candidate, then a fit of what was chosen):

1. The folds are those of every training (:func:`pipeline.learn.classify.make_folds`, grouped
   by document where there are enough documents).
2. Per candidate, out-of-fold probabilities: one classifier per fold, fitted on the other
   folds. Whatever the features fit — the word and character vocabularies and their IDF,
   an embedder that learns — is fitted in each fold on that fold's training rows alone
   (:func:`pipeline.learn.fit.fold_features`), so a held-out segment never shapes the
   features that score it. Candidates differing only in C share their fold features, and
   a pretrained encoder's embeddings, which fit nothing, are computed once per embedder.
3. Per candidate, thresholds from those probabilities (as the training itself chooses
   them) and the figures at those thresholds: micro- and macro-F1 over the codes.
   One more candidate costs no fit: the mean of the logits of the best candidate and of
   the best one of another family (single-label: of their decision values).
4. The whole-model choice is the candidate with the best figure (micro-F1, or macro-F1
   with ``--select-by macro``); the mean of two candidates, which codes at the cost of
   both, must lead the best single candidate by :data:`MARGIN`. Per code, another
   candidate replaces it where its F1 (or the configured ``threshold_measure``) for
   that code is at least :data:`MARGIN` higher; the per-code combination is kept only
   if it beats the whole-model choice on the selection figure.
5. The chosen candidates are fitted once on all hand codes and joined into one model
   (:mod:`pipeline.learn.joint`) whose thresholds are those of step 3.

Only the training set is read; a held-out or test set plays no part. The figures of
step 3 are out-of-fold, but the choice was made on them, so they are optimistic for the
chosen model (the model card says so).

Single-label code systems (``classifier.labels: single``) choose one candidate for the
whole model (the arg-max over all codes leaves nothing to choose per code); the mean of
two families' decision values is a candidate there too.

Mutually exclusive codes: where no coded segment carries two codes (and at least two
codes are coded), the default candidates are joined by one candidate per family that
gives a segment one code or none (``classifier.labels: exclusive``, at the middle of the
family's C grid: :func:`exclusive_candidates`). Their decision rule is the model's, not a
code's, so they take part only as whole models: scored out of fold with their own rule
(no thresholds), kept out of the per-code choice and the ensemble of step 3, and chosen
only if one of them beats the choice of step 4 (per code or whole model) on the
selection figure; it is then fitted alone.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pipeline.core.config import RunConfig, load_config
from pipeline.core.errors import CodingError
from pipeline.learn.classify import decide, fitter, make_folds, shrunk_thresholds
from pipeline.learn.cv import coder_scores, scores_with_parents, shared_embeddings
from pipeline.learn.features import Featurizer
from pipeline.learn.fit import (
    codebook_examples,
    cold_start_codes,
    features_for,
    fold_features,
    training_summary,
)
from pipeline.learn.joint import JointEmbedder, JointFeaturizer, joint_classifier
from pipeline.learn.model import Model, package_versions

MEASURES = ("micro", "macro")
MARGIN = 0.01
"""How much better (F1 of the code, out of fold) another candidate must code a code to
take it over from the whole-model choice: a smaller lead is noise on most corpora."""

C_GRIDS = {"default": (0.01, 0.02, 0.05), "fast": (0.3, 1.0, 3.0), "hybrid": (0.3, 1.0, 3.0)}
"""The C values tried per named configuration (around each one's own C)."""


@dataclass(frozen=True)
class Candidate:
    """One configuration to try: ``family`` names the preset, ``name`` adds its C."""

    name: str
    family: str
    config: RunConfig


def presets(base: RunConfig) -> dict[str, RunConfig]:
    """The named configurations, with the segmentation and training procedure of ``base``
    (how hand codes become examples, folds, seed, threshold measure): ``default`` (the
    shipped configuration), ``fast`` (configs/fast.yaml: USE + n-grams) and ``hybrid``
    (the default's e5 features beside the word and character n-grams)."""
    from pipeline.defaults import fast_config_path

    default, fast = load_config(None), load_config(fast_config_path())
    hybrid = replace(default, features=replace(default.features, lexical=True), classifier=replace(default.classifier, C=1.0))

    def own(config: RunConfig) -> RunConfig:
        t = base.training
        training = replace(config.training, min_examples=t.min_examples, cv_folds=t.cv_folds, min_overlap=t.min_overlap, seed=t.seed, threshold_measure=t.threshold_measure)
        return replace(config, segment=base.segment, training=training)

    return {"default": own(default), "fast": own(fast), "hybrid": own(hybrid)}


def candidates(base: RunConfig, *, families: Sequence[str] = ("default", "fast", "hybrid"), grids: dict[str, Sequence[float]] | None = None) -> list[Candidate]:
    """The candidates of :func:`presets`, each over its C grid (:data:`C_GRIDS`)."""
    grids = grids or C_GRIDS
    named = presets(base)
    out = []
    for family in families:
        config = named[family]
        for C in grids[family]:
            out.append(Candidate(f"{family} C={C:g}", family, replace(config, classifier=replace(config.classifier, C=float(C)))))
    return out


def exclusive_candidates(base: RunConfig, *, families: Sequence[str] = ("default", "fast", "hybrid"), grids: dict[str, Sequence[float]] | None = None) -> list[Candidate]:
    """One code or none per segment (``classifier.labels: exclusive``): one candidate per
    family of :func:`presets`, at the middle of its C grid (one out-of-fold pass each keeps
    the selection affordable), named like the others with "(one code or none)"."""
    grids = grids or C_GRIDS
    named = presets(base)
    out = []
    for family in families:
        config, C = named[family], float(grids[family][len(grids[family]) // 2])
        out.append(Candidate(f"{family} C={C:g} (one code or none)", family, replace(config, classifier=replace(config.classifier, C=C, labels="exclusive"))))
    return out


def mutually_exclusive(Y: np.ndarray) -> bool:
    """Whether hand codes look like mutually exclusive codes: at least two codes coded,
    and no segment with two. Y: bool ndarray of shape (n_segments, n_codes)."""
    Y = np.asarray(Y, dtype=bool)
    return len(Y) > 0 and int(Y.any(axis=0).sum()) >= 2 and int(Y.sum(axis=1).max()) <= 1


def default_pool(base: RunConfig, Y: np.ndarray) -> list[Candidate]:
    """The candidates :func:`train_selected` tries unless given others: :func:`candidates`
    of ``base``, and :func:`exclusive_candidates` where the hand codes ``Y`` (bool ndarray
    of shape (n_segments, n_codes)) are :func:`mutually_exclusive`."""
    return candidates(base) + (exclusive_candidates(base) if mutually_exclusive(Y) else [])


@dataclass
class _Tried:
    candidate: Candidate
    proba: np.ndarray
    thresholds: np.ndarray
    pred: np.ndarray
    scores: dict
    per_code: np.ndarray  # the threshold measure per code at the chosen thresholds
    seconds: float
    group: int | None
    parts: tuple[tuple[int, float], ...] = ()  # (base candidate, weight) whose logits it averages; () : itself


def _code_measure(Y: np.ndarray, P: np.ndarray, t: np.ndarray, measure: str) -> np.ndarray:
    out = np.zeros(Y.shape[1])
    for j in range(Y.shape[1]):
        if Y[:, j].any():
            pred = P[:, j] >= t[j]
            # the measure at one threshold: the curve on a one-point grid
            out[j] = _at(Y[:, j], pred, measure)
    return out


def _at(y: np.ndarray, pred: np.ndarray, measure: str) -> float:
    tp, fp, fn = int((pred & y).sum()), int((pred & ~y).sum()), int((~pred & y).sum())
    f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    if measure == "f1":
        return f1
    tn = len(y) - tp - fp - fn
    f0 = 2 * tn / (2 * tn + fp + fn) if tn else 0.0
    return (f1 + f0) / 2


def _ensemble(tried: list, Y: np.ndarray, figure: str, codebook, single: bool = False):
    """The mean of the logits of the best candidate and of the best one of another
    family (a joint model represents it exactly), scored on their out-of-fold
    probabilities: a candidate that costs no fit. None when all are of one family.

    Single-label: the mean of the two candidates' decision values, whose arg-max codes
    (the logarithm of a softmax is the decision value less one number per segment, so
    averaging log-probabilities ranks the codes as averaging decision values does)."""
    order = sorted(range(len(tried)), key=lambda i: (-tried[i].scores[figure], i))
    a = order[0]
    others = [i for i in order if tried[i].candidate.family != tried[a].candidate.family]
    if not others:
        return None
    b = others[0]

    def logit(P):
        P = np.clip(P, 1e-12, 1 - 1e-12)
        return np.log(P / (1 - P))

    cfg = tried[a].candidate.config
    cand = Candidate(f"mean of {tried[a].candidate.name} and {tried[b].candidate.name}", "ensemble", cfg)
    if single:
        Z = (np.log(np.clip(tried[a].proba, 1e-300, None)) + np.log(np.clip(tried[b].proba, 1e-300, None))) / 2
        P = np.exp(Z - Z.max(axis=1, keepdims=True))
        P /= P.sum(axis=1, keepdims=True)
        thresholds, pred = np.zeros(Y.shape[1]), _arg_max(P)
        scores = scores_with_parents(Y, pred, codebook)
        per_code = np.array([r["f1"] for r in scores["per_code"].values()])
        return _Tried(cand, P, thresholds, pred, scores, per_code, 0.0, None, ((a, 0.5), (b, 0.5)))
    P = 1.0 / (1.0 + np.exp(-(logit(tried[a].proba) + logit(tried[b].proba)) / 2))
    thresholds = shrunk_thresholds(Y, P, cfg.training.threshold_shrink, cfg.training.threshold_measure)
    pred = P >= thresholds
    scores = scores_with_parents(Y, pred, codebook)
    return _Tried(cand, P, thresholds, pred, scores, _code_measure(Y, P, thresholds, cfg.training.threshold_measure), 0.0, None, ((a, 0.5), (b, 0.5)))


def _arg_max(P: np.ndarray) -> np.ndarray:
    """One code per segment, the most probable: bool ndarray of P's shape."""
    pred = np.zeros(P.shape, dtype=bool)
    pred[np.arange(len(P)), P.argmax(axis=1)] = True
    return pred


def _choose(tried: list, mixable: list[int], Y: np.ndarray, figure: str, codebook, single: bool):
    """Steps 4 and the one-code-or-none rule of the module docstring: per code, the index
    (into ``tried``) of the candidate that codes it.

    Args:
        tried: Every candidate's out-of-fold result.
        mixable: The indices of those that may be combined per code (not one code or none).
        Y: bool ndarray of shape (n_segments, n_codes), the hand codes.

    Returns:
        ``(choice, scores, pred)``: int ndarray of shape (n_codes,), the figures of the
        choice (:func:`scores_with_parents`) and its out-of-fold codes, bool ndarray of
        Y's shape.
    """
    whole = mixable or list(range(len(tried)))
    best = max(whole, key=lambda i: (tried[i].scores[figure], -i))
    alone = [i for i in whole if not tried[i].parts]
    if tried[best].parts and alone:
        # The mean of two candidates embeds and codes as both do (slower than either), so as
        # a whole model it must lead the best single candidate by MARGIN, as a code must.
        single_best = max(alone, key=lambda i: (tried[i].scores[figure], -i))
        if tried[best].scores[figure] < tried[single_best].scores[figure] + MARGIN:
            best = single_best
    choice = np.full(Y.shape[1], best)
    if not single and mixable:
        for j in range(Y.shape[1]):
            if not Y[:, j].any():
                continue
            top = max(mixable, key=lambda i: (tried[i].per_code[j], -i))
            if tried[top].per_code[j] >= tried[best].per_code[j] + MARGIN:
                choice[j] = top
    pred = np.column_stack([tried[choice[j]].pred[:, j] for j in range(Y.shape[1])]) if Y.shape[1] else tried[best].pred
    scores = scores_with_parents(Y, pred, codebook)
    if not (len(set(choice.tolist())) > 1 and scores[figure] > tried[best].scores[figure]):
        choice[:], scores, pred = best, tried[best].scores, tried[best].pred
    # One code or none is a rule of the whole model: it replaces what was chosen only if it
    # codes better as a whole than that choice (per code or not).
    others = [i for i in range(len(tried)) if i not in whole]
    if others:
        top = max(others, key=lambda i: (tried[i].scores[figure], -i))
        if tried[top].scores[figure] > scores[figure]:
            choice[:], scores, pred = top, tried[top].scores, tried[top].pred
    return choice, scores, pred


def _figures(scores: dict) -> dict:
    out = {k: round(float(scores[k]), 4) for k in ("micro_f1", "macro_f1", "parent_micro_f1", "parent_macro_f1") if k in scores}
    out["per_code_f1"] = {c: round(r["f1"], 4) for c, r in scores["per_code"].items()}
    return out


def train_selected(
    data,
    *,
    base: RunConfig,
    measure: str = "micro",
    pool: Sequence[Candidate] | None = None,
    name: str = "",
    files: Sequence[str] = (),
    document_sha256: dict[str, str] | None = None,
    progress: Callable[[str], None] | None = None,
    ensemble: bool = True,
) -> Model:
    """Choose the configuration on ``data`` (see the module docstring) and train it.

    Args:
        data: A :class:`pipeline.learn.fit.TrainingSet`.
        base: The run configuration whose segmentation and training procedure the
            candidates share.
        measure: ``micro`` or ``macro`` (F1 over the codes) decides.
        pool: The candidates (default: :func:`default_pool`: :func:`candidates` of
            ``base``, and where no coded segment carries two codes
            :func:`exclusive_candidates` too).
        progress: Called with one line per step (the CLI prints them on stderr).
        ensemble: Also try the mean of the two best families' logits (step 2).

    Returns:
        The trained :class:`pipeline.learn.model.Model`; its card holds every candidate's
        figures under ``selection`` and the chosen model's out-of-fold figures under ``cv``.
    """
    if measure not in MEASURES:
        raise ValueError(f"measure must be one of {', '.join(MEASURES)}, found {measure!r}")
    say = progress or (lambda line: None)
    codebook, Y = data.codebook, np.asarray(data.Y, dtype=bool)
    exclusive = pool is None and mutually_exclusive(Y)
    pool = list(pool) if pool is not None else default_pool(base, Y)
    # The threshold measure is part of the training procedure, which ``base`` gives.
    pool = [replace(c, config=replace(c.config, training=replace(c.config.training, threshold_measure=base.training.threshold_measure))) for c in pool]
    if not pool:
        raise ValueError("no candidate configurations to choose from")
    start = time.perf_counter()
    single = pool[0].config.classifier.labels == "single"
    if any((c.config.classifier.labels == "single") != single for c in pool):
        raise ValueError("candidates mix single-label classifiers with multi-label or one-code-or-none ones; give a pool of one kind")
    t = base.training
    folds = make_folds(data.groups, Y, t.cv_folds, seed=t.seed)
    if not folds.splits:
        raise CodingError(f"choosing a configuration needs at least two coded segments; found {len(data.segments)}. Code more segments, or fix one with --config.")
    everything = np.arange(len(data.segments))
    key = lambda c: (c.config.embedder, c.config.features, c.config.training.codebook_examples)  # noqa: E731
    groups = list(dict.fromkeys(key(c) for c in pool))
    last = {groups.index(key(c)): n for n, c in enumerate(pool)}  # after it, a group's fold features go
    per_fold: dict[int, list] = {}
    embedded: dict[tuple, np.ndarray] = {}
    tried: list[_Tried] = []
    alone = sum(c.config.classifier.labels == "exclusive" for c in pool)
    say(f"choosing among {len(pool)} candidate configurations by {folds.describe()} out-of-fold {measure}-F1"
        + (f" ({alone} of them one code or none per segment: no coded segment carries two codes)" if exclusive else ""))

    def shared(cfg):
        ekey = (cfg.embedder, bool(Featurizer(cfg.features).context))
        if ekey not in embedded:
            embedded[ekey] = shared_embeddings(data, cfg)  # None for an embedder that learns
        return embedded[ekey]

    for n, cand in enumerate(pool):
        cfg = cand.config
        g = groups.index(key(cand))
        clock = time.perf_counter()
        if g not in per_fold:
            # Each fold's vocabulary and IDF come from its training rows alone: features fitted
            # on every segment would let the held-out ones flatter the lexical candidates.
            per_fold[g] = fold_features(cfg, data, folds.splits, shared(cfg))
        P = np.full(Y.shape, np.nan)
        for (train, test), (X, extra) in zip(folds.splits, per_fold[g]):
            P[test] = fitter(X, Y, config=cfg.classifier, seed=t.seed, extra=extra, sample_weight=data.weights)(train).predict_proba(X[test])
        if last[g] == n:
            del per_fold[g]
        if single:
            thresholds, pred = np.zeros(Y.shape[1]), _arg_max(P)
        elif cfg.classifier.labels == "exclusive":
            thresholds, pred = np.zeros(Y.shape[1]), decide(P, np.zeros(Y.shape[1]), "exclusive")
        else:
            thresholds = shrunk_thresholds(Y, P, cfg.training.threshold_shrink, cfg.training.threshold_measure)
            pred = P >= thresholds
        scores = scores_with_parents(Y, pred, codebook)
        per_code = _code_measure(Y, P, thresholds, cfg.training.threshold_measure) if cfg.classifier.labels == "multi" else np.array([r["f1"] for r in scores["per_code"].values()])
        tried.append(_Tried(cand, P, thresholds, pred, scores, per_code, time.perf_counter() - clock, g))
        say(f"[{n + 1}/{len(pool)}] {cand.name}: micro-F1 {scores['micro_f1']:.3f}, macro-F1 {scores['macro_f1']:.3f} ({time.perf_counter() - clock:.1f} s)")
    figure = "micro_f1" if measure == "micro" else "macro_f1"
    mixable = [i for i, tr in enumerate(tried) if tr.candidate.config.classifier.labels != "exclusive"]
    if ensemble and len(mixable) > 1:
        mean = _ensemble([tried[i] for i in mixable], Y, figure, codebook, single)
        if mean is not None:
            mean.parts = tuple((mixable[k], w) for k, w in mean.parts)
            tried.append(mean)
            mixable.append(len(tried) - 1)
            say(f"[+] {mean.candidate.name}: micro-F1 {mean.scores['micro_f1']:.3f}, macro-F1 {mean.scores['macro_f1']:.3f} (no new fit: the two out-of-fold passes averaged)")
    choice, combined, combined_pred = _choose(tried, mixable, Y, figure, codebook, single)
    per_code_choice = len(set(choice.tolist())) > 1

    def parts(i):
        return tried[i].parts or ((i, 1.0),)

    members = sorted({m for i in set(choice.tolist()) for m, _ in parts(i)})
    say("chosen: " + (f"{tried[choice[0]].candidate.name}" if not per_code_choice else "per code: " + ", ".join(f"{c} → {tried[choice[j]].candidate.name}" for j, c in enumerate(codebook.leaf_ids))))
    fitted, built, dims = {}, {}, {}
    for m in members:
        tr = tried[m]
        cfg = tr.candidate.config
        if tr.group not in built:
            embedder, featurizer, X = features_for(cfg, data, everything, shared(cfg))
            built[tr.group] = (embedder, featurizer, X, codebook_examples(cfg, codebook, embedder, featurizer))
            E = shared(cfg)
            dims.setdefault(cfg.embedder, int(E.shape[1]) if E is not None else int(embedder.encode([data.segments[0].text]).shape[1]))
        embedder, featurizer, X, extra = built[tr.group]
        clf = fitter(X, Y, config=tr.candidate.config.classifier, seed=t.seed, extra=extra, sample_weight=data.weights)(everything)
        clf.thresholds_ = tr.thresholds.copy()
        fitted[m] = (embedder, featurizer, clf, X.shape[1])
    seconds = time.perf_counter() - start
    say(f"selection and training took {seconds:.1f} s")
    primary = max(members, key=lambda m: (sum(w for j in range(Y.shape[1]) for k, w in parts(int(choice[j])) if k == m), -m))
    config = tried[primary].candidate.config
    if len(members) == 1:
        embedder, featurizer, classifier, _ = fitted[primary]
    else:
        configs = []
        for m in members:
            if tried[m].candidate.config.embedder not in configs:
                configs.append(tried[m].candidate.config.embedder)
        embedders = [None] * len(configs)
        for m in members:
            k = configs.index(tried[m].candidate.config.embedder)
            embedders[k] = embedders[k] or fitted[m][0]
        widths = [dims[c] for c in configs]
        embedder = JointEmbedder(configs, embedders, widths)
        blocks = list(dict.fromkeys(tried[m].group for m in members))  # members differing only in C share a block
        first = {g: next(m for m in members if tried[m].group == g) for g in blocks}
        featurizer = JointFeaturizer([fitted[first[g]][1] for g in blocks], [configs.index(tried[first[g]].candidate.config.embedder) for g in blocks], widths)
        rows = [[(members.index(m), w) for m, w in parts(int(choice[j]))] for j in range(Y.shape[1])]
        thresholds = np.array([tried[choice[j]].thresholds[j] for j in range(Y.shape[1])])
        classifier = joint_classifier([fitted[m][2] for m in members], [blocks.index(tried[m].group) for m in members], [fitted[first[g]][3] for g in blocks], rows, thresholds, classifier=config.classifier, seed=t.seed)
    card = {
        "training": training_summary(data, folds=folds, single=config.classifier.labels != "multi", files=files, document_sha256=document_sha256,
                                     cold_start=sorted({c for m in members for c in cold_start_codes(tried[m].candidate.config, data)})),
        "cv": {
            "folds": len(folds.splits),
            "fold_rule": folds.describe(),
            "fold_note": folds.note,
            "segments": len(data.segments),
            "optimistic": True,
            **combined,
            **coder_scores(data, combined_pred),
        },
        "selection": {
            "measure": f"{measure}-F1",
            "threshold_measure": base.training.threshold_measure,
            "folds": folds.describe(),
            "margin": MARGIN,
            "choice": "per code" if per_code_choice else "whole model",
            "candidates": [
                {"name": tr.candidate.name, "family": tr.candidate.family, "C": tr.candidate.config.classifier.C,
                 "labels": tr.candidate.config.classifier.labels, "seconds": round(tr.seconds, 2), **_figures(tr.scores)}
                for tr in tried
            ],
            "members": [tried[m].candidate.name for m in members],
            "member_configs": {tried[m].candidate.name: tried[m].candidate.config.to_dict() for m in members},
            "per_code": {c: tried[choice[j]].candidate.name for j, c in enumerate(codebook.leaf_ids)},
            "chosen": _figures(combined),
            "seconds": round(seconds, 2),
        },
        "packages": package_versions(),
    }
    return Model(name or f"autocode-{codebook.hash[:8]}", codebook, config, embedder, classifier, card, featurizer=featurizer)
