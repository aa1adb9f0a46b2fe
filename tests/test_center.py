"""Document centering (``features.center``): what it subtracts, that it takes a
register's offset out, and that a document coded in parts is centered on all of it."""

import numpy as np
import pytest
import yaml
from sklearn.linear_model import LogisticRegression

from pipeline.core.config import FeaturesConfig, config_from_dict
from pipeline.learn.features import CENTER_PRIOR, Featurizer, center, document_stats
from pipeline.learn.model import load_model, save_model
from tests.test_features import CODEBOOK, DOCS


def _rows(seed=0, n=12, dim=8):
    rng = np.random.default_rng(seed)
    E = rng.normal(size=(n, dim)).astype(np.float32) + np.float32(2.0)
    E /= np.linalg.norm(E, axis=1, keepdims=True)
    return E


def test_center_subtracts_a_share_of_each_documents_shrunk_mean():
    E = _rows()
    E[3] = 0.0  # a segment that was not embedded
    groups = ["a"] * 7 + ["b"] * 5
    out = center(E, groups, 0.5)
    for g, rows in (("a", [0, 1, 2, 4, 5, 6]), ("b", [7, 8, 9, 10, 11])):
        mean_part = E[rows].sum(axis=0) / (len(rows) + CENTER_PRIOR)
        want = E[rows] - 0.5 * mean_part
        want /= np.linalg.norm(want, axis=1, keepdims=True)
        np.testing.assert_allclose(out[rows], want, rtol=1e-5, atol=1e-6)
    assert not out[3].any(), "a row that was not embedded stays zero and is no part of the mean"
    np.testing.assert_array_equal(center(E, groups, 0.0), E)


def test_a_part_of_a_document_is_centered_on_the_whole_of_it():
    E = _rows(1, n=20)
    groups = ["d"] * 20
    whole = center(E, groups, 0.5)
    stats = document_stats(E, groups)
    np.testing.assert_allclose(center(E[5:9], groups[5:9], 0.5, stats), whole[5:9], rtol=1e-6)
    assert not np.allclose(center(E[5:9], groups[5:9], 0.5), whole[5:9]), "the part's own mean is another one"


def test_centering_takes_out_the_offset_that_keeps_a_model_from_carrying_over():
    """Two 'registers': the code is the sign of column 0, and each register shifts every
    segment by its own offset, the second one far along column 0 itself. Trained on the
    first, a model codes everything of the second as one code; with centering it codes
    the second almost as well as the first."""
    rng = np.random.default_rng(0)
    n, dim = 200, 16

    def register(offset):
        y = rng.integers(0, 2, n)
        E = rng.normal(scale=0.3, size=(n, dim))
        E[:, 0] += np.where(y == 1, 1.0, -1.0)
        return (E + offset).astype(np.float32), y

    first = np.zeros(dim)
    first[1] = 3.0
    second = np.zeros(dim)
    second[0], second[2] = 2.5, -3.0
    (Ea, ya), (Eb, yb) = register(first), register(second)
    scores = {}
    for share in (0.0, 1.0):
        featurizer = Featurizer(FeaturesConfig(lexical=False, prototypes=0.0, center=share))
        Xa = featurizer.transform(Ea, [""] * n, ["a"] * n)
        Xb = featurizer.transform(Eb, [""] * n, ["b"] * n)
        scores[share] = LogisticRegression().fit(Xa, ya).score(Xb, yb)
    assert scores[0.0] < 0.65
    assert scores[1.0] > 0.9


def _model(tmp_path, share):
    from tests.test_features import context_model

    model, segs, _ = context_model(tmp_path)
    assert model.config.features.center == 0.5, "the tfidf test model centers by the shipped default"
    if share != 0.5:
        from dataclasses import replace

        from pipeline.learn.classify import fit_with_thresholds
        from pipeline.learn.fit import TrainingSet, features_for
        from pipeline.learn.model import Model

        config = config_from_dict({**model.config.to_dict(), "features": {**model.config.to_dict()["features"], "center": share}})
        Y = np.array([[code == c for c in CODEBOOK.leaf_ids] for rows in DOCS.values() for _, code in rows])
        data = TrainingSet(tuple(segs), Y, np.array([s.transcript for s in segs]), CODEBOOK, "A")
        embedder, featurizer, X = features_for(config, data, np.arange(len(segs)))
        clf = fit_with_thresholds(X, Y, data.groups, config=config.classifier, seed=0, cv_folds=2)
        model = replace(model, config=config, embedder=embedder, classifier=clf, featurizer=featurizer)
        model = Model(model.name, CODEBOOK, config, embedder, clf, {}, featurizer=featurizer)
    return model, segs


@pytest.mark.parametrize("chunk", [1, 2, 4])
def test_code_stream_centers_every_chunk_on_the_whole_document(tmp_path, chunk):
    model, segs = _model(tmp_path, 0.5)
    doc = [s for s in segs if s.transcript == "a"]
    whole = model.code_segments(doc)
    assert list(model.code_stream(iter(doc), chunk=chunk)) == whole
    # without the whole document's mean, the chunks' scores would differ
    parts = [r for i in range(0, len(doc), chunk) for r in model.code_segments(doc[i : i + chunk])]
    assert [r["scores"] for r in parts] != [r["scores"] for r in whole]


def test_a_model_saved_before_centering_existed_loads_without_it(tmp_path):
    model, segs = _model(tmp_path, 0.0)
    doc = [s for s in segs if s.transcript == "b"]
    save_model(model, tmp_path / "old")
    path = tmp_path / "old" / "config.yaml"
    saved = yaml.safe_load(path.read_text(encoding="utf-8"))
    del saved["features"]["center"]  # as a model of an autocode without the option wrote it
    path.write_text(yaml.safe_dump(saved, sort_keys=False), encoding="utf-8")
    loaded = load_model(tmp_path / "old")
    assert loaded.config.features.center == 0.0
    assert loaded.code_segments(doc) == model.code_segments(doc)


def test_center_share_is_checked_on_load():
    from pipeline.core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"features\.center: expected .*found 1\.5"):
        config_from_dict({"features": {"center": 1.5}})


def test_the_model_card_says_whether_documents_are_centered():
    from pipeline.learn.card import _describe_features

    assert "0.5 of its document's mean embedding" in _describe_features(config_from_dict({}))
    assert "document's mean" not in _describe_features(config_from_dict({"features": {"center": 0.0}}))
