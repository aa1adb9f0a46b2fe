"""Fitting on hand codes: labelled segments (a :class:`TrainingSet`), then features and a
classifier with thresholds fitted on chosen rows of it — the one path that training, the
cross-validation (:mod:`pipeline.learn.cv`) and the benchmarks share.

Only codable segments are training examples (interviewer turns, headings and footnotes
are not coded by convention, so they are neither positive nor negative examples).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

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


@dataclass(frozen=True)
class TrainingSet:
    """Codable segments with their labels.

    Attributes:
        segments: The codable segments, in document order.
        Y: bool ndarray of shape (n_segments, n_codes), columns in ``codebook.leaf_ids``.
        groups: ndarray of shape (n_segments,), the document of each segment.
        codebook: The code system (column order).
        coder: Whose codes these are.
        context: Every segment of the coded documents in order, codable or not (the
            neighbours that context features read); empty means ``segments``.
        rows: ndarray of shape (n_segments,), where each codable segment sits in ``context``.
    """

    segments: tuple[Segment, ...]
    Y: np.ndarray
    groups: np.ndarray
    codebook: Codebook
    coder: str
    context: tuple[Segment, ...] = ()
    rows: np.ndarray | None = None

    @property
    def texts(self) -> list[str]:
        return [s.text for s in self.segments]

    @property
    def all_segments(self) -> tuple[Segment, ...]:
        return self.context or self.segments

    @property
    def all_rows(self) -> np.ndarray:
        return np.arange(len(self.segments)) if self.rows is None else self.rows


def choose_coder(hand: HandCodes, coder: str | None) -> str:
    coders = Counter(c.coder for c in hand.codings)
    if not coders:
        raise CodingError("the hand-code files contain no codings. Code some segments first.")
    if coder is not None:
        if coder not in coders:
            raise CodingError(f"coder {coder!r} has no codings; coders in the data: {', '.join(sorted(coders))}. Choose one with --coder.")
        return coder
    best = sorted(coders.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    if len(coders) > 1:
        warn(
            f"the hand codes come from {len(coders)} coders ({', '.join(f'{k}: {v}' for k, v in sorted(coders.items()))}); "
            f"training on {best!r}, who coded most. Choose another with --coder."
        )
    return best


def build_training_set(
    hand: HandCodes,
    *,
    codebook: Codebook,
    config: RunConfig,
    coder: str | None = None,
) -> TrainingSet:
    """Segment the coded documents and label their codable segments.

    Only what the chosen coder coded is an example: the documents they coded and, in
    unit files, the units they coded (another coder's documents are neither positive
    nor negative examples)."""
    who = choose_coder(hand, coder)
    codings = [c for c in hand.codings if c.coder == who]
    everything: list[Segment] = []
    for doc_id in sorted(hand.transcripts):
        if doc_id in hand.coverage.get(who, {}):
            everything.extend(segment_transcript(hand.transcripts[doc_id], config=config.segment))
    rows = np.array([i for i, s in enumerate(everything) if s.codable and hand.covers(who, s)], dtype=int)
    segments = [everything[i] for i in rows]
    if not segments:
        raise CodingError("the coded documents yield no codable segments. Check that they are the transcripts you meant.")
    labels = project_codings(segments, codings, min_overlap=config.training.min_overlap)
    col = {code: j for j, code in enumerate(codebook.leaf_ids)}
    Y = np.zeros((len(segments), len(col)), dtype=bool)
    for i, found in enumerate(labels):
        for code in found.get(who, ()):
            if code in col:
                Y[i, col[code]] = True
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
                fate = "It is learned from the code system's definition and anchors alone (cold start, flagged in the output). "
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
    return TrainingSet(tuple(segments), Y, np.array([s.transcript for s in segments]), codebook, who, tuple(everything), rows)


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
    """Codes with fewer than ``min_examples`` hand-coded segments that the model still
    learns from the code system's texts (``training.codebook_examples`` on)."""
    if not config.training.codebook_examples:
        return []
    counts = data.Y.sum(axis=0)
    known = described(data.codebook)
    return [c for c, n in zip(data.codebook.leaf_ids, counts) if n < config.training.min_examples and c in known]


def fit_classifier(config: RunConfig, data: TrainingSet, train_rows: np.ndarray, *, embedded=None):
    """The whole training procedure on ``train_rows`` of ``data`` — the one path that
    ``train``, the cross-validation and the benchmarks share.

    Returns:
        ``(embedder, featurizer, classifier, X)`` with X the feature matrix of all codable
        segments of ``data`` (n_segments, n_features).
    """
    embedder, featurizer, X = features_for(config, data, train_rows, embedded)
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
    )
    return embedder, featurizer, classifier, X
