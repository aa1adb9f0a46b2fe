"""Training: hand codes → labelled segments → features → classifier with thresholds, and
the model card that says what it was trained on and how well it did in cross-validation.

The fitting itself is :mod:`pipeline.learn.fit`; the cross-validation
:mod:`pipeline.learn.cv`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from pipeline.core.codebook import Codebook
from pipeline.core.config import RunConfig
from pipeline.learn.classify import make_folds
from pipeline.learn.cv import cross_validate
from pipeline.learn.fit import (
    DEFAULT_COMBINE,
    TrainingSet,
    build_training_set,
    cold_start_codes,
    fit_classifier,
    training_summary,
)
from pipeline.learn.model import Model, package_versions
from pipeline.text.codings import HandCodes, read_hand_codes, warn


def training_data(
    coded: Sequence[str | Path],
    *,
    config: RunConfig,
    codebook: Codebook | None = None,
    coder: str | Sequence[str] | None = None,
    combine: str = DEFAULT_COMBINE,
    texts: Sequence[str | Path] = (),
    allow_new_codes: bool = False,
) -> tuple[HandCodes, TrainingSet]:
    """Read hand-code files and build the training set: what :func:`train` learns from
    (``suggest`` uses it too, so that the data are read, and warned about, once).

    Without ``codebook`` the code system is the codes found in the hand codes (with a
    warning saying so)."""
    hand = read_hand_codes(coded, codebook=codebook, texts=texts, allow_new_codes=allow_new_codes)
    if codebook is None:
        found = sorted({c.code for c in hand.codings})
        codebook = Codebook.from_ids(found)
        warn(f"no --codebook given: using the {len(found)} codes found in the hand codes ({', '.join(found)}).")
    return hand, build_training_set(hand, codebook=codebook, config=config, coder=coder, combine=combine)


def train(
    coded: Sequence[str | Path],
    *,
    config: RunConfig,
    codebook: Codebook | None = None,
    coder: str | Sequence[str] | None = None,
    combine: str = DEFAULT_COMBINE,
    texts: Sequence[str | Path] = (),
    name: str = "",
    evaluate: bool = True,
    allow_new_codes: bool = False,
) -> Model:
    """Train a model on hand-coded files.

    Args:
        coded: Hand-code files (span or unit format, see :mod:`pipeline.text.codings`).
        config: The run configuration.
        codebook: The code system; ``None`` uses the codes found in the hand codes (with
            a warning saying so).
        coder: Whose codes to learn: one coder, several, or None (the coder with most
            codings).
        combine: How several coders' codes are joined (:data:`COMBINE_RULES`).
        texts: Extra folders where span documents are looked up.
        name: Model name (default: derived from the code system).
        evaluate: Run the document-grouped cross-validation for the model card.
        allow_new_codes: Go on (with a warning) when codes are not in ``codebook``.
    """
    hand, data = training_data(coded, config=config, codebook=codebook, coder=coder, combine=combine, texts=texts,
                               allow_new_codes=allow_new_codes)
    return train_from(hand, data, config=config, name=name, evaluate=evaluate, files=[str(p) for p in coded])


def train_from(hand: HandCodes, data: TrainingSet, *, config: RunConfig, name: str = "", evaluate: bool = True,
               files: Sequence[str] = ()) -> Model:
    """A model (with its cross-validated figures when ``evaluate``) from the output of
    :func:`training_data`."""
    documents = {d: hashlib.sha256(t.text.encode("utf-8")).hexdigest() for d, t in sorted(hand.transcripts.items()) if d in set(data.groups)}
    cv = cross_validate(data, config=config) if evaluate else None
    return train_on(data, config=config, name=name, cv=cv, files=files, document_sha256=documents)


def train_on(
    data: TrainingSet,
    *,
    config: RunConfig,
    name: str = "",
    cv: dict | None = None,
    files: Sequence[str] = (),
    document_sha256: dict[str, str] | None = None,
) -> Model:
    """A model from a training set built beforehand (what :func:`train` does after reading
    the hand codes; the benchmarks call it directly)."""
    codebook = data.codebook
    embedder, featurizer, classifier, _ = fit_classifier(config, data, np.arange(len(data.segments)))
    folds = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed)
    card = {
        "training": training_summary(data, folds=folds, single=config.classifier.labels != "multi", files=files,
                                     document_sha256=document_sha256, cold_start=cold_start_codes(config, data)),
        "packages": package_versions(),
    }
    if cv is not None:
        card["cv"] = cv
    return Model(name or f"autocode-{codebook.hash[:8]}", codebook, config, embedder, classifier, card, featurizer=featurizer)
