"""Fitting on hand codes: labelled segments (a :class:`TrainingSet`), then features and a
classifier with thresholds fitted on chosen rows of it — the one path that training, the
cross-validation (:mod:`pipeline.learn.cv`) and the benchmarks share.

Only codable segments are training examples (interviewer turns, headings and footnotes
are not coded by convention, so they are neither positive nor negative examples).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from pipeline.core.codebook import Codebook
from pipeline.core.config import RunConfig
from pipeline.core.errors import CodingError
from pipeline.core.types import Segment
from pipeline.learn.classify import fit_with_thresholds
from pipeline.learn.embed import make_embedder
from pipeline.learn.features import Featurizer, code_texts, described, embed_segments, prototypes
from pipeline.text.codings import HandCodes, project_codings, warn
from pipeline.text.segment import segment_transcript

#: How the codes of several coders become one training set (``train --combine``).
COMBINE_RULES = {
    "each": "every coder's codes are examples of their own (a segment that k coders coded appears k times, "
            "each time with that coder's codes and weight 1/k, so that every segment counts once)",
    "union": "a segment has a code when any of its coders gave it",
    "majority": "a segment has a code when more than half of the coders who coded it gave it; a tie counts as "
                "absent, so with two coders a code needs both (a segment only one of them coded keeps that coder's codes)",
}
#: The rule when none is named: on the sample corpus it coded best against each of the two
#: coders (docs/multiple-coders.md, benchmarks/multiple_coders.py).
DEFAULT_COMBINE = "union"


@dataclass(frozen=True)
class TrainingSet:
    """Codable segments with their labels.

    Attributes:
        segments: The codable segments, in document order (with ``combine="each"`` once
            per coder who coded them, coder after coder).
        Y: bool ndarray of shape (n_segments, n_codes), columns in ``codebook.leaf_ids``.
        groups: ndarray of shape (n_segments,), the document of each segment.
        codebook: The code system (column order).
        coder: Whose codes these are (several coders joined by "+").
        context: Every segment of the coded documents in order, codable or not (the
            neighbours that context features read); empty means ``segments``.
        rows: ndarray of shape (n_segments,), where each codable segment sits in ``context``.
        weights: ndarray of shape (n_segments,), the weight of each segment as a training
            example, or None (all 1).
        coders: The coders whose codes are learned, and ``combine`` the rule that joined
            them (see :data:`COMBINE_RULES`; "" for one coder).
        by_coder: Coder -> ``(indices into segments, bool ndarray (n, n_codes))``: the
            segments each coder coded, with that coder's own codes (to score a model of
            combined codes against each coder).
    """

    segments: tuple[Segment, ...]
    Y: np.ndarray
    groups: np.ndarray
    codebook: Codebook
    coder: str
    context: tuple[Segment, ...] = ()
    rows: np.ndarray | None = None
    weights: np.ndarray | None = None
    coders: tuple[str, ...] = ()
    combine: str = ""
    by_coder: dict = field(default_factory=dict)

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.segments]

    @property
    def all_segments(self) -> tuple[Segment, ...]:
        return self.context or self.segments

    @property
    def all_rows(self) -> np.ndarray:
        return np.arange(len(self.segments)) if self.rows is None else self.rows

    def subset(self, rows: np.ndarray) -> TrainingSet:
        """The training set of ``rows`` (indices into ``segments``), e.g. one fold's
        training or held-out part, with the whole documents they sit in as context (and
        no other document).

        Each example keeps its weight, so that ``--combine each`` weights the examples of
        a fold as it weights them in training; ``coders`` and ``combine`` stay, and
        ``by_coder`` keeps each coder's examples among ``rows`` (renumbered; a coder with
        none there is left out).

        Args:
            rows: int ndarray of shape (n_rows,), indices into ``segments``.
        """
        rows = np.asarray(rows, dtype=int)
        docs = set(self.groups[rows])
        keep = [i for i, s in enumerate(self.all_segments) if s.transcript in docs]
        where = {i: k for k, i in enumerate(keep)}
        at = {int(r): k for k, r in enumerate(rows)}
        by_coder = {}
        for who, (idx, Y) in self.by_coder.items():
            mine = np.array([int(i) in at for i in idx], dtype=bool)
            if mine.any():
                by_coder[who] = (np.array([at[int(i)] for i in idx[mine]], dtype=int), Y[mine])
        return TrainingSet(
            tuple(self.segments[i] for i in rows), self.Y[rows], self.groups[rows], self.codebook, self.coder,
            tuple(self.all_segments[i] for i in keep), np.array([where[r] for r in self.all_rows[rows]], dtype=int),
            None if self.weights is None else self.weights[rows], self.coders, self.combine, by_coder,
        )


def choose_coder(hand: HandCodes, coder: str | None) -> str:
    coders = Counter(c.coder for c in hand.codings)
    if not coders:
        raise CodingError("the hand-code files contain no codings. Code some segments first.")
    if coder is not None:
        # A coder who decided segments without giving a code (all "no code") coded them too.
        if coder not in hand.coders:
            raise CodingError(f"coder {coder!r} has no codings; coders in the data: {', '.join(sorted(coders))}. Choose one with --coder.")
        return coder
    best = sorted(coders.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    if len(coders) > 1:
        warn(
            f"the hand codes come from {len(coders)} coders ({', '.join(f'{k}: {v}' for k, v in sorted(coders.items()))}); "
            f"training on {best!r}, who coded most. Choose another with --coder, or learn from several with "
            "--coder A --coder B --combine each|union|majority."
        )
    return best


def choose_coders(hand: HandCodes, coder: str | Sequence[str] | None) -> tuple[str, ...]:
    """The coders to learn from: those named (each must have codings; named twice counts
    once), else the one with most codings (:func:`choose_coder`)."""
    named = [coder] if isinstance(coder, str) else list(dict.fromkeys(coder or ()))
    if len(named) <= 1:
        return (choose_coder(hand, named[0] if named else None),)
    present = set(hand.coders)  # with codes, or with segments decided as "no code"
    missing = [c for c in named if c not in present]
    if missing:
        raise CodingError(
            f"coder{'s' if len(missing) > 1 else ''} {', '.join(map(repr, missing))} "
            f"{'have' if len(missing) > 1 else 'has'} no codings; coders in the data: {', '.join(sorted(present))}. "
            "Name them with --coder as they appear in the hand codes."
        )
    return tuple(named)


def combined_labels(Ys: dict[str, np.ndarray], cover: dict[str, np.ndarray], combine: str):
    """The training rows of several coders' codes joined by ``combine`` (:data:`COMBINE_RULES`).

    Args:
        Ys: Coder -> bool ndarray (n, n_codes), their codes on n segments.
        cover: Coder -> bool ndarray (n,), whether they coded each segment (every
            segment is coded by at least one).

    Returns:
        ``(picked, Y, weights, by_coder)``: indices into the n segments (with "each" a
        segment once per coder who coded it), their labels (len(picked), n_codes), their
        weights (or None) and, per coder, ``(indices into picked, their own codes)``.
    """
    who = tuple(Ys)
    n = next(iter(cover.values())).shape[0]
    k = np.sum([cover[c] for c in who], axis=0)  # coders per segment
    if len(who) == 1:
        return np.arange(n), Ys[who[0]], None, {who[0]: (np.arange(n), Ys[who[0]])}
    if combine == "each":
        picked, labels, weights, by_coder, at = [], [], [], {}, 0
        for c in who:
            mine = np.flatnonzero(cover[c])
            picked.append(mine)
            labels.append(Ys[c][mine])
            weights.append(1.0 / k[mine])
            by_coder[c] = (np.arange(at, at + len(mine)), Ys[c][mine])
            at += len(mine)
        return np.concatenate(picked), np.vstack(labels), np.concatenate(weights), by_coder
    votes = np.sum([Ys[c] & cover[c][:, None] for c in who], axis=0)
    Y = votes > 0 if combine == "union" else 2 * votes > k[:, None]
    return np.arange(n), Y, None, {c: (np.flatnonzero(cover[c]), Ys[c][cover[c]]) for c in who}


def build_training_set(
    hand: HandCodes,
    *,
    codebook: Codebook,
    config: RunConfig,
    coder: str | Sequence[str] | None = None,
    combine: str = DEFAULT_COMBINE,
) -> TrainingSet:
    """Segment the coded documents and label their codable segments.

    Only what the chosen coders coded is an example: the documents they coded and, in
    unit files, the units they coded (another coder's documents are neither positive
    nor negative examples).

    Args:
        coder: One coder, several (their codes joined by ``combine``), or None: the coder
            with most codings.
        combine: ``"each"``, ``"union"`` or ``"majority"`` (:data:`COMBINE_RULES`); used
            with several coders only. Default :data:`DEFAULT_COMBINE`.
    """
    if combine not in COMBINE_RULES:
        raise CodingError(f"--combine must be one of {', '.join(COMBINE_RULES)}, found {combine!r}.")
    who = choose_coders(hand, coder)
    codings = [c for c in hand.codings if c.coder in who]
    everything: list[Segment] = []
    for doc_id in sorted(hand.transcripts):
        if any(doc_id in hand.coverage.get(c, {}) for c in who):
            everything.extend(segment_transcript(hand.transcripts[doc_id], config=config.segment))
    covered = np.array([i for i, s in enumerate(everything) if s.codable and any(hand.covers(c, s) for c in who)], dtype=int)
    base = [everything[i] for i in covered]
    if not base:
        raise CodingError("the coded documents yield no codable segments. Check that they are the transcripts you meant.")
    labels = project_codings(base, codings, min_overlap=config.training.min_overlap)
    col = {code: j for j, code in enumerate(codebook.leaf_ids)}
    Ys, cover = {}, {}
    for c in who:
        Ys[c] = np.zeros((len(base), len(col)), dtype=bool)
        for i, found in enumerate(labels):
            for code in found.get(c, ()):
                if code in col:
                    Ys[c][i, col[code]] = True
        cover[c] = np.array([hand.covers(c, s) for s in base], dtype=bool)
    picked, Y, weights, by_coder = combined_labels(Ys, cover, combine)
    rows = covered[picked]
    segments = [everything[i] for i in rows]
    n_spans = Counter(c.code for c in codings)
    learnable = described(codebook) if config.training.codebook_examples else set()
    for code, j in col.items():
        n = int(Y[:, j].sum())
        if n < config.training.min_examples:
            if n_spans.get(code) and not n:
                reason = f"its {n_spans[code]} span(s) cover no codable segment (spans on interviewer turns or headings, or shorter than min_overlap)"
            else:
                reason = f"only {n} coded segment(s)"
            if code in learnable:
                fate = ("It is learned from the code system's definition and anchors alone (cold start, flagged in the output). " if not n
                        else "It is learned from these and the code system's definition and anchors; too few to judge its quality. ")
            else:
                fate = "It will never be predicted. " if not n else ""
            warn(
                f"code {code!r}: {reason}; at least {config.training.min_examples} are needed to learn it "
                f"(20 or more for useful quality). {fate}Code more segments with it."
            )
    if config.classifier.labels == "single":
        n_codes = Y.sum(axis=1)
        if (n_codes != 1).any():
            bad = [segments[i].id for i in np.flatnonzero(n_codes != 1)[:3]]
            raise CodingError(
                f"classifier.labels is 'single', so every codable segment needs exactly one code; "
                f"{int((n_codes != 1).sum())} of {len(segments)} have none or several (e.g. {', '.join(bad)}). "
                "Code them, or set classifier.labels: multi in the configuration."
            )
    if config.classifier.labels == "exclusive" and (Y.sum(axis=1) > 1).any():
        several = np.flatnonzero(Y.sum(axis=1) > 1)
        raise CodingError(
            f"classifier.labels is 'exclusive', so a codable segment carries one code or none; {len(several)} of "
            f"{len(segments)} carry several (e.g. {', '.join(segments[i].id for i in several[:3])}). "
            "Keep one code on each, or set classifier.labels: multi in the configuration."
        )
    return TrainingSet(tuple(segments), Y, np.array([s.transcript for s in segments]), codebook, "+".join(who),
                       tuple(everything), rows, weights, who, combine if len(who) > 1 else "", by_coder)


def features_for(config: RunConfig, data: TrainingSet, train_rows: np.ndarray, embedded=None):
    """Fit embedder (if it learns) and featurizer on the training rows of ``data``; return
    them with the feature matrix of all its codable segments (n_segments, n_features).

    Args:
        train_rows: Indices into ``data.segments`` to learn vocabularies from.
        embedded: Embeddings of ``data.all_segments`` computed beforehand (for
            embedders that do not learn), or None.
    """
    featurizer = Featurizer(config.features)
    train_texts = [data.segments[i].text for i in train_rows]
    embedder = make_embedder(config.embedder)
    if embedded is None or embedder.trainable:
        embedder.fit(train_texts)
    if embedded is None:
        embedded = embed_segments(embedder, data.all_segments, context=featurizer.context)
    featurizer.fit(train_texts, prototypes=prototypes(embedder, data.codebook) if config.features.prototypes else None)
    everything = data.all_segments
    X = featurizer.transform(embedded, [s.text for s in everything], [s.transcript for s in everything])
    return embedder, featurizer, X[data.all_rows]


def fits_on_rows(config: RunConfig) -> bool:
    """Whether the features of ``config`` are fitted on the training rows — a word and
    character vocabulary with its IDF (``features.lexical``), or an embedder that learns
    — so that every fold must fit its own. A pretrained encoder fits nothing."""
    return bool(config.features.lexical) or make_embedder(config.embedder, cache=False).trainable


def fold_features(config: RunConfig, data: TrainingSet, splits, embedded=None) -> list:
    """Per fold of ``splits``, ``(X, extra)``: the feature matrix of all codable segments
    (as :func:`features_for` returns it) and the code system's examples
    (:func:`codebook_examples`), with embedder and featurizer fitted on that fold's
    training rows only, so that no held-out segment adds to a vocabulary or an IDF that
    scores it. Features that fit nothing (:func:`fits_on_rows`) are computed once and
    shared by the folds.

    Args:
        splits: ``(train_indices, test_indices)`` per fold, indices into ``data.segments``.
        embedded: As for :func:`features_for`.
    """
    return list(each_fold_features(config, data, splits, embedded))


def each_fold_features(config: RunConfig, data: TrainingSet, splits, embedded=None):
    """:func:`fold_features` one fold at a time (a generator), so that only one fold's
    feature matrix is held at once."""
    if not fits_on_rows(config):
        embedder, featurizer, X = features_for(config, data, np.arange(len(data.segments)), embedded)
        shared = (X, codebook_examples(config, data.codebook, embedder, featurizer))
        for _ in splits:
            yield shared
        return
    for train, _ in splits:
        embedder, featurizer, X = features_for(config, data, train, embedded)
        yield X, codebook_examples(config, data.codebook, embedder, featurizer)


def codebook_examples(config: RunConfig, codebook: Codebook, embedder, featurizer):
    """The code system's texts as weighted training examples (see
    ``training.codebook_examples``): ``(X, Y, weight)`` or None when switched off.

    Each text is a document of its own (no neighbours); X has the feature layout of the
    segments, Y of shape (n_texts, n_codes) one code per row.
    """
    weight = config.training.codebook_examples
    if not weight:
        return None
    texts, labels = [], []
    known = described(codebook)
    for j, (code, items) in enumerate(code_texts(codebook).items()):
        if code not in known:
            continue  # a bare name (often just an id) is no example of the code
        texts += items
        labels += [j] * len(items)
    if not texts:
        return None
    Y = np.zeros((len(texts), len(codebook.leaf_ids)), dtype=bool)
    Y[np.arange(len(texts)), labels] = True
    # Each text is a document of its own for the neighbours, and all of them one
    # document for ``center``: the code system's prose has a register of its own.
    X = featurizer.transform(embedder.encode(texts), texts, [f"codebook:{i}" for i in range(len(texts))], groups=["codebook"] * len(texts))
    return X, Y, weight


def cold_start_codes(config: RunConfig, data: TrainingSet) -> list[str]:
    """Codes without a hand-coded segment that the model still learns, from the code
    system's texts alone (``training.codebook_examples`` on). A code with a few examples
    is not one: it learned from them too (the model card calls it too thin to judge)."""
    if not config.training.codebook_examples:
        return []
    counts = data.Y.sum(axis=0)
    known = described(data.codebook)
    return [c for c, n in zip(data.codebook.leaf_ids, counts) if n == 0 and c in known]


def fit_classifier(config: RunConfig, data: TrainingSet, train_rows: np.ndarray, *, embedded=None):
    """The whole training procedure on ``train_rows`` of ``data`` — the one path that
    ``train``, the cross-validation and the benchmarks share.

    The thresholds are chosen on inner folds of ``train_rows``; where the features fit
    something on their training texts (:func:`fits_on_rows`), each inner fold fits its
    own on its training rows (:func:`each_fold_features`), so that
    no inner held-out segment shapes the vocabulary that scores it.

    Returns:
        ``(embedder, featurizer, classifier, X)`` with X the feature matrix of all codable
        segments of ``data`` (n_segments, n_features).
    """
    train_rows = np.asarray(train_rows, dtype=int)
    if embedded is None and not make_embedder(config.embedder, cache=False).trainable:
        # A pretrained encoder's embeddings fit nothing: computed once for every fold.
        embedded = embed_segments(make_embedder(config.embedder), data.all_segments, context=Featurizer(config.features).context)
    embedder, featurizer, X = features_for(config, data, train_rows, embedded)

    def per_fold(splits):
        inner = [(train_rows[a], train_rows[b]) for a, b in splits]
        for Xf, extra in each_fold_features(config, data, inner, embedded):
            yield Xf[train_rows], extra

    classifier = fit_with_thresholds(
        X[train_rows],
        data.Y[train_rows],
        data.groups[train_rows],
        config=config.classifier,
        seed=config.training.seed,
        cv_folds=config.training.cv_folds,
        shrink=config.training.threshold_shrink,
        extra=codebook_examples(config, data.codebook, embedder, featurizer),
        measure=config.training.threshold_measure,
        sample_weight=None if data.weights is None else data.weights[train_rows],
        per_fold=per_fold if fits_on_rows(config) else None,
    )
    return embedder, featurizer, classifier, X


def training_summary(data: TrainingSet, *, folds, single: bool, files: Sequence[str], document_sha256: dict[str, str] | None,
                     cold_start: Sequence[str]) -> dict:
    """The model card's ``training`` section: what a model was trained on, whichever way
    it was trained.

    Args:
        folds: The :class:`pipeline.learn.classify.Folds` the thresholds were chosen on.
        single: Whether the classifier decides without thresholds (``classifier.labels``
            ``single`` or ``exclusive``).
        document_sha256: Document -> SHA-256 of its text: which texts the model saw, so
            that agreement can tell in-sample from out-of-sample figures.
    """
    unique = np.unique(data.all_rows)
    return {
        "threshold_folds": "" if single else folds.describe(),
        "fold_note": folds.note,
        "files": list(files),
        "documents": len(set(data.groups)),
        "document_sha256": document_sha256 or {},
        "segments": len(unique),
        "coded_segments": len(np.unique(data.all_rows[data.Y.any(axis=1)])),
        **({"examples": len(data.segments)} if len(data.segments) != len(unique) else {}),
        "per_code": {code: int(n) for code, n in zip(data.codebook.leaf_ids, data.Y.sum(axis=0))},
        "max_codes_per_segment": int(data.Y.sum(axis=1).max()) if len(data.Y) else 0,
        "coder": data.coder,
        **({"coders": list(data.coders), "combine": data.combine, "combine_rule": COMBINE_RULES[data.combine]} if data.combine else {}),
        "cold_start": list(cold_start),
    }
