"""Context and lexical features, the single-label classifier, and models that read
neighbouring segments: same output whatever the chunking, through save and load."""

import numpy as np
import pytest
import scipy.sparse as sp

from pipeline.core.codebook import Code, Codebook
from pipeline.core.config import FeaturesConfig, config_from_dict
from pipeline.core.errors import CodingError, ConfigError
from pipeline.core.types import Segment
from pipeline.learn.classify import SingleLabelLinear, class_weights
from pipeline.learn.features import Featurizer, neighbour_index
from pipeline.learn.model import load_model, save_model

# Two short "documents" read in order; a segment's code is often its neighbour's.
DOCS = {
    "a": [
        ("Wir wollen Kunden in Frankreich gewinnen.", "MARKT"),
        ("Der Vertrieb in Lyon bringt neue Kunden.", "MARKT"),
        ("Und der Markt dort wächst.", "MARKT"),
        ("Aber die Reisen kosten viel Geld.", "FINANZEN"),
        ("Das Budget reicht dafür kaum.", "FINANZEN"),
        ("Förderung gab es keine.", "FINANZEN"),
    ],
    "b": [
        ("Das Geld für Übersetzungen fehlt.", "FINANZEN"),
        ("Die Kosten sind zu hoch.", "FINANZEN"),
        ("Kunden in Straßburg fragen nach.", "MARKT"),
        ("Der Absatz dort steigt.", "MARKT"),
        ("Neue Kunden kommen hinzu.", "MARKT"),
    ],
}
CODEBOOK = Codebook(name="mini", codes=(Code("MARKT", "Markt"), Code("FINANZEN", "Finanzen")))


def segments() -> list[Segment]:
    out = []
    for doc, rows in DOCS.items():
        for i, (text, _) in enumerate(rows):
            out.append(Segment(f"{doc}:{i:04d}", doc, 0, len(text), "B", text, "respondent"))
    return out


def test_neighbours_stay_in_their_document():
    docs = ["a", "a", "a", "b", "b"]
    index, valid = neighbour_index(docs, -1)
    assert valid.tolist() == [False, True, True, False, True]
    assert index[valid].tolist() == [0, 1, 3]
    index, valid = neighbour_index(docs, 2)
    assert valid.tolist() == [True, False, False, False, False]
    assert index[0] == 2


def test_context_blocks_hold_weighted_neighbours_and_window_means():
    E = np.arange(1, 6, dtype=np.float32)[:, None] * np.array([[1.0, 0.0]], dtype=np.float32)
    docs = ["a"] * 5
    feat = Featurizer(FeaturesConfig(lexical=False, context=1, context_window=2, context_weight=0.5, prototypes=0.0, center=0.0))
    X = feat.transform(E, [""] * 5, docs)
    # own | previous | next | mean of 2 before | mean of 2 after, each 2 wide
    assert X.shape == (5, 10)
    row = X[2]
    np.testing.assert_allclose(row[0:2], [3, 0])
    np.testing.assert_allclose(row[2:4], [0.5 * 2, 0])
    np.testing.assert_allclose(row[4:6], [0.5 * 4, 0])
    np.testing.assert_allclose(row[6:8], [0.5 * 1, 0])  # only row 0 is two before
    np.testing.assert_allclose(row[8:10], [0.5 * 5, 0])
    np.testing.assert_allclose(X[0, 2:4], [0, 0])  # document start: no previous segment
    assert feat.context == 2


def test_lexical_features_are_sparse_with_unit_blocks():
    texts = [t for rows in DOCS.values() for t, _ in rows]
    feat = Featurizer(FeaturesConfig(lexical=True, embedding_weight=0.5, prototypes=0.0)).fit(texts)
    E = np.random.default_rng(0).normal(size=(len(texts), 4)).astype(np.float32)
    X = feat.transform(E, texts, ["a"] * len(texts))
    assert sp.issparse(X) and X.shape[0] == len(texts)
    dense = X[:, -4:].toarray()
    np.testing.assert_allclose(np.linalg.norm(dense, axis=1), 0.5, rtol=1e-5)
    lexical = X[:, :-4]
    np.testing.assert_allclose(np.sqrt(lexical.multiply(lexical).sum(axis=1)).A.ravel(), 1.0, rtol=1e-5)


def test_class_weights():
    np.testing.assert_allclose(class_weights([10, 40, 0], "balanced"), [2.5, 0.625, 1.0])
    np.testing.assert_allclose(class_weights([10, 40, 0], "sqrt"), np.sqrt([2.5, 0.625, 1.0]))
    np.testing.assert_allclose(class_weights([10, 40], "none"), [1, 1])


@pytest.mark.parametrize("name", ["svm", "logreg"])
def test_single_label_fits_small_data_and_never_picks_an_unseen_code(name):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 0.3, (10, 3)) + [3, 0, 0], rng.normal(0, 0.3, (10, 3)) + [0, 3, 0], rng.normal(0, 0.3, (10, 3)) + [0, 0, 3]])
    Y = np.zeros((30, 4), dtype=bool)  # the fourth code has no example
    Y[np.arange(30), np.repeat([0, 1, 2], 10)] = True
    clf = SingleLabelLinear(name=name, C=1.0).fit(X, Y)
    np.testing.assert_array_equal(clf.predict(X), Y.astype(int))
    P = clf.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert P[:, 3].max() < 1e-6
    with pytest.raises(ValueError, match="exactly one code"):
        clf.fit(X, np.zeros((30, 4), dtype=bool))


def test_config_refuses_svm_for_multi_label_and_short_windows():
    with pytest.raises(ConfigError, match="single-label"):
        config_from_dict({"classifier": {"name": "svm"}})
    with pytest.raises(ConfigError, match="context_window"):
        config_from_dict({"features": {"context": 3, "context_window": 2}})


def context_model(tmp_path):
    """A single-label model with lexical and context features, trained on DOCS."""
    from pipeline.learn.classify import fit_with_thresholds
    from pipeline.learn.fit import features_for
    from pipeline.learn.model import Model

    config = config_from_dict(
        {
            "segment": {"unit": "sentence"},
            "embedder": {"name": "tfidf"},
            "features": {"lexical": True, "context": 1, "context_window": 2},
            "classifier": {"name": "svm", "labels": "single", "C": 10.0},
        }
    )
    segs = segments()
    Y = np.array([[code == c for c in CODEBOOK.leaf_ids] for rows in DOCS.values() for _, code in rows])
    from pipeline.learn.fit import TrainingSet

    data = TrainingSet(tuple(segs), Y, np.array([s.transcript for s in segs]), CODEBOOK, "A")
    embedder, featurizer, X = features_for(config, data, np.arange(len(segs)))
    clf = fit_with_thresholds(X, Y, data.groups, config=config.classifier, seed=0, cv_folds=2)
    model = Model("ctx", CODEBOOK, config, embedder, clf, {}, featurizer=featurizer)
    return model, segs, Y


def test_context_model_fits_and_survives_save_load(tmp_path):
    model, segs, Y = context_model(tmp_path)
    assert model.context == 2
    records = [r for doc in DOCS for r in model.code_segments([s for s in segs if s.transcript == doc])]
    assert [r["codes"] for r in records] == [[CODEBOOK.leaf_ids[j]] for j in Y.argmax(axis=1)]
    save_model(model, tmp_path / "m")
    loaded = load_model(tmp_path / "m")
    again = [r for doc in DOCS for r in loaded.code_segments([s for s in segs if s.transcript == doc])]
    assert again == records


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 6])
def test_code_stream_equals_whole_document_whatever_the_chunk(tmp_path, chunk):
    model, segs, _ = context_model(tmp_path)
    doc = [s for s in segs if s.transcript == "a"]
    whole = model.code_segments(doc)
    assert list(model.code_stream(iter(doc), chunk=chunk)) == whole
    # and the chunk boundaries really matter: without neighbours the scores differ
    alone = [model.code_segments([s])[0] for s in doc]
    assert [r["scores"] for r in alone] != [r["scores"] for r in whole]


def test_single_label_training_refuses_segments_without_a_code(tmp_path):
    from pipeline.learn.fit import build_training_set
    from pipeline.text.codings import read_hand_codes

    path = tmp_path / "units.jsonl"
    path.write_text(
        '{"id": "u1", "text": "Kunden in Lyon.", "codes": ["MARKT"]}\n{"id": "u2", "text": "Das Wetter war schön.", "codes": []}\n',
        encoding="utf-8",
    )
    config = config_from_dict({"classifier": {"name": "svm", "labels": "single"}})
    hand = read_hand_codes([path], codebook=CODEBOOK)
    with pytest.raises(CodingError, match="exactly one code"):
        build_training_set(hand, codebook=CODEBOOK, config=config)


# Six interviews of eight answers each: "Kunden" marks MARKT, "Geld" FINANZEN, the rest
# carries no code. Each document words its sentences its own way, so that a fold has to
# generalise from the other documents' wording.
_PLACES = ["Lyon", "Straßburg", "Metz", "Nancy", "Mulhouse", "Colmar"]


def keyword_training_set():
    from pipeline.learn.fit import TrainingSet

    segs, rows = [], []
    for d, place in enumerate(_PLACES):
        texts = [
            (f"Unsere Kunden in {place} bestellen viel.", "MARKT"),
            (f"Neue Kunden aus {place} kamen dazu.", "MARKT"),
            ("Die Kunden dort wollen Sensoren.", "MARKT"),
            (f"Das Geld für Reisen nach {place} fehlt.", "FINANZEN"),
            ("Uns fehlt das Geld für Übersetzungen.", "FINANZEN"),
            (f"Ohne Geld geht in {place} nichts.", "FINANZEN"),
            (f"Das Wetter in {place} war schön.", None),
            (f"Wir haben in {place} zu Mittag gegessen.", None),
        ]
        for i, (text, code) in enumerate(texts):
            segs.append(Segment(f"d{d}:{i:04d}", f"d{d}", 0, len(text), "B", text, "respondent"))
            rows.append([code == c for c in CODEBOOK.leaf_ids])
    Y = np.array(rows)
    return TrainingSet(tuple(segs), Y, np.array([s.transcript for s in segs]), CODEBOOK, "A")


def test_learning_curve_grows_to_a_model_that_learned_the_keywords():
    """What the curve promises: the stated share of each training fold (two folds of
    three documents: 24 training segments), quality on the held-out documents that grows
    with the share, and at the full share a model that found the keywords."""
    from pipeline.research.evaluate import learning_curve

    data = keyword_training_set()
    config = config_from_dict(
        {"embedder": {"name": "tfidf"}, "classifier": {"C": 20.0}, "training": {"cv_folds": 2, "min_examples": 2}}
    )
    curve = learning_curve(data, config=config, fractions=(0.125, 0.5, 1.0))
    assert [p["fraction"] for p in curve] == [0.125, 0.5, 1.0]
    assert [p["train_segments"] for p in curve] == [3, 12, 24]
    assert curve[-1]["micro_f1"] >= 0.9 and curve[-1]["macro_f1"] >= 0.9
    assert curve[0]["macro_f1"] < curve[-1]["macro_f1"]
