"""One declarative run configuration, validated on load and copied next to the model.

A configuration is YAML with five sections (all optional; defaults below)::

    segment:    {unit: sentence, max_chars: 600, code_interviewer: false,
                 spacy_model: de_core_news_lg}
    embedder:   {name: use-multilingual}          # or sentence-transformers (+ model), tfidf
    features:   {lexical: false, embedding_weight: 1.0, context: 0, context_window: 0,
                 context_weight: 0.5}
    classifier: {name: logreg, labels: multi, C: 0.02, class_weight: balanced}
    training:   {min_examples: 5, cv_folds: 5, min_overlap: 0.5, seed: 0}
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import yaml

from pipeline.errors import ConfigError
from pipeline.segment import SegmentConfig


@dataclass(frozen=True)
class EmbedderConfig:
    """Which embedder, by registry name (see :mod:`pipeline.embed`).

    Attributes:
        name: ``use-multilingual``, ``sentence-transformers`` or ``tfidf``.
        model: Model name or local path (sentence-transformers only).
        batch_size: Texts per forward pass.
    """

    name: str = "use-multilingual"
    model: str = ""
    batch_size: int = 64


@dataclass(frozen=True)
class FeaturesConfig:
    """What the classifier sees of a segment besides its embedding.

    Attributes:
        lexical: Add word 1–2-gram and character 2–5-gram TF-IDF (sublinear) to the
            embedding: the exact words of a code's vocabulary, which sentence embeddings
            blur.
        embedding_weight: Scale of the (L2-normalised) embedding against the lexical
            block when ``lexical`` is on.
        context: Embeddings of this many neighbouring segments on each side of the
            segment, in the same document, as extra features (0: none). Transcripts and
            manifestos are read in order; what comes just before and after says much
            about what a segment is about.
        context_window: Also the mean embedding of the segments from ``context + 1`` to
            this many places away on each side (0: none).
        context_weight: Scale of the context blocks against the segment's own embedding.
    """

    lexical: bool = False
    embedding_weight: float = 1.0
    context: int = 0
    context_window: int = 0
    context_weight: float = 0.5


@dataclass(frozen=True)
class ClassifierConfig:
    """The classifier.

    Attributes:
        name: ``logreg`` (logistic regression) or ``svm`` (linear support vector
            machine; single-label only).
        labels: ``multi`` (a segment carries any number of codes: one model per code,
            per-code thresholds) or ``single`` (exactly one code per segment, as in the
            Manifesto Project's quasi-sentences).
        C: Inverse regularisation strength.
        class_weight: ``balanced`` (rare codes weigh more), ``sqrt`` (half-way: weights
            grow with the square root of rarity) or ``none``.
    """

    name: str = "logreg"
    labels: str = "multi"
    C: float = 0.02
    class_weight: str = "balanced"


@dataclass(frozen=True)
class TrainingConfig:
    """How hand codes become training data and how thresholds are chosen.

    Attributes:
        min_examples: Codes with fewer coded segments get a warning (and none at all:
            the code is never predicted).
        cv_folds: Folds of the document-grouped cross-validation.
        min_overlap: Share of a segment (or of a span) a hand-coded span must cover for
            the segment to carry its code.
        seed: Random seed (fold assignment, solvers).
    """

    min_examples: int = 5
    cv_folds: int = 5
    min_overlap: float = 0.5
    seed: int = 0


@dataclass(frozen=True)
class RunConfig:
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    embedder: EmbedderConfig = field(default_factory=EmbedderConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    classifier: ClassifierConfig = field(default_factory=ClassifierConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["segment"]["interviewer_labels"] = list(self.segment.interviewer_labels)
        return out

    @property
    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()


_SECTIONS = {
    "segment": SegmentConfig,
    "embedder": EmbedderConfig,
    "features": FeaturesConfig,
    "classifier": ClassifierConfig,
    "training": TrainingConfig,
}


def _build(cls, data, where: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of options, found {type(data).__name__}.")
    known = {f.name: f for f in fields(cls)}
    kwargs = {}
    for key, value in data.items():
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown option {key!r}.{hint} Known: {', '.join(known)}.")
        default = getattr(cls(), key)
        if isinstance(default, tuple):
            value = tuple(value or ())
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{where}.{key}: expected true or false, found {value!r}.")
        elif isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{where}.{key}: expected a number, found {value!r}.")
            value = type(default)(value)
        elif isinstance(default, str):
            value = "" if value is None else str(value)
        kwargs[key] = value
    return cls(**kwargs)


def config_from_dict(data: dict | None, *, where: str = "configuration") -> RunConfig:
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with sections {', '.join(_SECTIONS)}, found {type(data).__name__}.")
    for key in data:
        if key not in _SECTIONS:
            close = difflib.get_close_matches(str(key), _SECTIONS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown section {key!r}.{hint} Sections: {', '.join(_SECTIONS)}.")
    config = RunConfig(**{name: _build(cls, data.get(name), f"{where}: {name}") for name, cls in _SECTIONS.items()})
    from pipeline.embed import EMBEDDERS

    if config.embedder.name not in EMBEDDERS:
        raise ConfigError(f"{where}: embedder {config.embedder.name!r} is unknown; choose one of {', '.join(EMBEDDERS)}.")
    clf = config.classifier
    if clf.name not in ("logreg", "svm"):
        raise ConfigError(f"{where}: classifier {clf.name!r} is unknown; choose 'logreg' or 'svm'.")
    if clf.labels not in ("multi", "single"):
        raise ConfigError(f"{where}: classifier.labels must be 'multi' or 'single', found {clf.labels!r}.")
    if clf.name == "svm" and clf.labels == "multi":
        raise ConfigError(
            f"{where}: classifier 'svm' gives no probabilities for per-code thresholds, so it serves "
            "single-label code systems only. Set labels: single, or use name: logreg."
        )
    if clf.class_weight not in ("balanced", "sqrt", "none"):
        raise ConfigError(f"{where}: class_weight must be 'balanced', 'sqrt' or 'none', found {clf.class_weight!r}.")
    feats = config.features
    if feats.context < 0 or feats.context_window < 0:
        raise ConfigError(f"{where}: features.context and features.context_window must be 0 or more.")
    if feats.context_window and feats.context_window <= feats.context:
        raise ConfigError(
            f"{where}: features.context_window ({feats.context_window}) must reach beyond features.context "
            f"({feats.context}), or be 0."
        )
    if config.training.cv_folds < 2:
        raise ConfigError(f"{where}: training.cv_folds must be at least 2, found {config.training.cv_folds}.")
    if not 0 < config.training.min_overlap <= 1:
        raise ConfigError(f"{where}: training.min_overlap must be in (0, 1], found {config.training.min_overlap}.")
    return config


def load_config(path: str | Path | None) -> RunConfig:
    """Read and validate a run configuration; ``None`` gives the defaults."""
    if path is None:
        return config_from_dict({})
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError(f"configuration {path} does not exist. Pass an existing YAML file with --config.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from None
    return config_from_dict(data, where=str(path))
