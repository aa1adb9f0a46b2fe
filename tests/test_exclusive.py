"""One code or none per segment (``classifier.labels: exclusive``): the classifier and the
model that uses it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.svm import LinearSVC

from pipeline.core.codebook import Codebook
from pipeline.core.config import config_from_dict
from pipeline.core.errors import CodingError
from pipeline.core.types import Segment
from pipeline.learn.classify import SingleLabelLinear, class_weights, decide, make_classifier
from pipeline.learn.embed import make_embedder
from pipeline.learn.fit import TrainingSet
from pipeline.learn.model import Model, load_model, save_model


def _clusters(seed: int, spread: float, n_codes: int = 3, n: int = 60):
    """``n`` points around each of ``n_codes`` code centres and a "no code" centre between
    them (the origin): features (n·(n_codes+1), 4), label matrix (…, n_codes) and the
    class of each row (n_codes: no code)."""
    rng = np.random.default_rng(seed)
    centres = np.vstack([5.0 * np.eye(4)[:n_codes], np.zeros((1, 4))])
    y = np.repeat(np.arange(n_codes + 1), n)
    X = centres[y] + spread * rng.normal(size=(len(y), 4)) + [10.0, -3.0, 0.0, 1.0]  # off-centre, so standardising matters
    return X, np.eye(n_codes + 1, dtype=bool)[y][:, :n_codes], y


def _classes(pred: np.ndarray) -> np.ndarray:
    """The class of each row of a 0/1 prediction with at most one 1 per row (n_codes: none)."""
    pred = np.asarray(pred, dtype=bool)
    return np.where(pred.any(axis=1), pred.argmax(axis=1), pred.shape[1])


# --------------------------------------------------------------------------- the classifier


@pytest.mark.parametrize("name", ["svm", "logreg"])
def test_fits_separated_codes_and_gives_no_code_to_the_segments_between_them(name):
    X, Y, y = _clusters(seed=0, spread=0.5)
    clf = SingleLabelLinear(name=name, C=1.0, none=True).fit(X, Y)
    pred = clf.predict(X)
    assert np.array_equal(pred.astype(bool), Y)
    assert (pred[y == 3] == 0).all() and pred.sum() == (y < 3).sum()
    P = clf.predict_proba(X)
    # the scores leave "no code" its share: most of it on the uncoded rows, little on the others
    assert (1 - P[y == 3].sum(axis=1) > 0.5).all() and (1 - P[y < 3].sum(axis=1) < 0.5).all()
    assert np.array_equal(decide(P, clf.thresholds_, "exclusive"), pred.astype(bool))
    # fresh points from the same clusters
    X2, Y2, _ = _clusters(seed=1, spread=0.5)
    assert np.array_equal(clf.predict(X2).astype(bool), Y2)


@pytest.mark.parametrize("n_codes", [3, 1])
@pytest.mark.parametrize("class_weight", ["none", "balanced"])
@pytest.mark.parametrize("name", ["svm", "logreg"])
def test_the_folded_weights_decide_as_the_model_with_an_explicit_no_code_class(name, class_weight, n_codes):
    """Overlapping clusters: the folded model (n_codes rows) codes every segment as
    scikit-learn's model of n_codes + 1 classes, fitted on the same standardised features,
    and its logistic probabilities are that model's."""
    X, Y, y = _clusters(seed=2, spread=2.5, n_codes=n_codes)
    clf = SingleLabelLinear(name=name, C=0.5, class_weight=class_weight, seed=0, none=True).fit(X, Y)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    w = class_weights(np.bincount(y), class_weight)
    cw = {c: float(w[c]) for c in range(n_codes + 1)}
    if name == "svm":
        explicit = LinearSVC(C=0.5, class_weight=cw, tol=1e-3, random_state=0).fit(Xs, y)
    else:
        explicit = LogisticRegression(C=0.5, class_weight=cw, max_iter=2000, random_state=0).fit(Xs, y)
    expected = explicit.predict(Xs)
    # not a trivial comparison: every class is predicted, and the model makes mistakes
    assert set(expected.tolist()) == set(range(n_codes + 1)) and (expected != y).any()
    assert clf.coef_.shape == (n_codes, 4)
    assert np.array_equal(_classes(clf.predict(X)), expected)
    assert np.array_equal(_classes(decide(clf.predict_proba(X), clf.thresholds_, "exclusive")), expected)
    if name == "logreg":
        np.testing.assert_allclose(clf.predict_proba(X), explicit.predict_proba(Xs)[:, :n_codes], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", ["svm", "logreg"])
def test_on_wide_sparse_features_the_folded_weights_decide_as_the_explicit_model_too(name):
    """Sparse features wider than the data (the lexical block) are not standardised, and
    logistic regression solves them with newton-cg: still the explicit model's codes."""
    import scipy.sparse as sp

    rng = np.random.default_rng(3)
    X = sp.random(150, 400, density=0.05, random_state=3, format="csr")
    y = np.asarray((X @ rng.normal(size=(400, 4))).argmax(axis=1)).ravel()
    y = np.where(rng.random(150) < 0.1, rng.integers(4, size=150), y)  # some noise
    Y = np.eye(4, dtype=bool)[y][:, :3]
    clf = SingleLabelLinear(name=name, C=2.0, class_weight="none", none=True).fit(X, Y)
    if name == "svm":
        explicit = LinearSVC(C=2.0, tol=1e-3, random_state=0).fit(X, y)
    else:
        explicit = LogisticRegression(C=2.0, solver="newton-cg", max_iter=2000, random_state=0).fit(X, y)
    expected = explicit.predict(X)
    assert set(expected.tolist()) == {0, 1, 2, 3}
    assert np.array_equal(_classes(clf.predict(X)), expected)
    if name == "logreg":
        np.testing.assert_allclose(clf.predict_proba(X), explicit.predict_proba(X)[:, :3], rtol=1e-6, atol=1e-9)


def test_refuses_a_segment_with_two_codes_and_a_code_never_seen_is_never_given():
    X, Y, _ = _clusters(seed=0, spread=0.5)
    two = Y.copy()
    two[0, 1] = True
    with pytest.raises(ValueError, match="at most one code per segment; 1 segment"):
        SingleLabelLinear(none=True).fit(X, two)
    # a fourth code without examples
    clf = SingleLabelLinear(none=True).fit(X, np.hstack([Y, np.zeros((len(Y), 1), dtype=bool)]))
    assert not clf.predict(X + [0, 0, 0, 50.0])[:, 3].any()
    # every segment coded: no "no code" was learned, so every segment gets a code
    coded = Y[Y.any(axis=1)]
    clf = SingleLabelLinear(none=True).fit(X[Y.any(axis=1)], coded)
    assert (clf.predict(X).sum(axis=1) == 1).all()


def test_the_configuration_names_the_mode_and_the_classifier_follows_it():
    config = config_from_dict({"classifier": {"name": "svm", "labels": "exclusive", "C": 0.3}})
    clf = make_classifier(config.classifier, seed=4)
    assert isinstance(clf, SingleLabelLinear) and clf.none is True and (clf.name, clf.C, clf.seed) == ("svm", 0.3, 4)
    assert make_classifier(config_from_dict({"classifier": {"name": "svm", "labels": "single"}}).classifier).none is False


def test_training_data_for_one_code_or_none_refuses_a_segment_with_two_codes(tmp_path):
    from pipeline.learn.fit import build_training_set
    from pipeline.text.codings import AutocodeWarning, read_hand_codes

    book = Codebook.from_ids(["MARKT", "FINANZEN"])
    path = tmp_path / "units.jsonl"
    rows = [("u1", "Kunden in Lyon.", ["MARKT"]), ("u2", "Das Wetter war schön.", []), ("u3", "Kunden ohne Geld.", ["MARKT", "FINANZEN"])]
    path.write_text("".join(json.dumps({"id": i, "text": t, "codes": c}) + "\n" for i, t, c in rows), encoding="utf-8")
    config = config_from_dict({"classifier": {"labels": "exclusive"}})
    hand = read_hand_codes([path], codebook=book)
    with pytest.raises(CodingError, match=r"'exclusive', so a codable segment carries one code or none; 1 of 3 carry several \(e\.g\. u3"), \
            pytest.warns(AutocodeWarning, match="at least 5 are needed"):  # three segments are few
        build_training_set(hand, codebook=book, config=config)
    path.write_text("".join(json.dumps({"id": i, "text": t, "codes": c[:1]}) + "\n" for i, t, c in rows), encoding="utf-8")
    with pytest.warns(AutocodeWarning, match="at least 5 are needed"):
        data = build_training_set(read_hand_codes([path], codebook=book), codebook=book, config=config)
    assert data.Y.sum(axis=1).tolist() == [1, 0, 1]


def test_suggest_lets_no_code_compete_with_the_codes():
    """Active learning on a model of one code or none: "no code" (the share the scores
    leave) is one of the two best a segment hesitates between."""
    from pipeline.learn.active_learning import select as pick
    from pipeline.learn.active_learning import uncertainty

    P = np.array([[0.45, 0.10], [0.90, 0.05], [0.02, 0.03]])  # "no code": 0.45, 0.05, 0.95
    U = uncertainty(P, single=True, none=True)
    np.testing.assert_allclose(U, [[1.0, 0.0], [0.15, 0.15], [0.0, 0.08]])
    # without "no code" the first and last rows would look like close calls between the codes
    assert uncertainty(P, single=True)[2, 0] > 0.9
    first = pick(P, n=1, codes=["A", "B"], single=True, none=True)[0]
    assert first.index == 0 and first.codes == ("A",) and first.reason.startswith("unsure between A (0.45) and no code (0.45)")


# --------------------------------------------------------------------------- a model on disk

TEXTS = [
    ("Die Miete ist wieder gestiegen.", "MIETE"), ("Unsere Miete frisst das Gehalt.", "MIETE"), ("Die Miete kommt zu spät.", "MIETE"),
    ("Der Kredit der Bank läuft aus.", "KREDIT"), ("Wir zahlen den Kredit ab.", "KREDIT"), ("Ohne Kredit keine Maschine.", "KREDIT"),
    ("Die Steuer ist zu hoch.", "STEUER"), ("Das Finanzamt will mehr Steuer.", "STEUER"), ("Die Steuer frisst den Gewinn.", "STEUER"),
    ("Heute scheint die Sonne.", None), ("Der Hund schläft im Garten.", None), ("Wir fahren morgen nach Lyon.", None),
]
BOOK = Codebook.from_ids(["MIETE", "KREDIT", "STEUER"])


def _segments(texts):
    return [Segment(id=f"d:{i}", transcript="d", start=0, end=len(t), speaker="B", text=t, role="respondent") for i, t in enumerate(texts)]


@pytest.mark.parametrize("name", ["svm", "logreg"])
def test_a_model_codes_one_code_or_none_and_keeps_its_codes_through_save_and_load(name, tmp_path):
    config = config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0},
                               "classifier": {"name": name, "labels": "exclusive", "C": 10.0, "class_weight": "none"}})
    texts = [t for t, _ in TEXTS]
    Y = np.array([[code == c for c in BOOK.leaf_ids] for _, code in TEXTS])
    embedder = make_embedder(config.embedder).fit(texts)
    clf = make_classifier(config.classifier).fit(embedder.encode(texts), Y)
    model = Model("exclusive", BOOK, config, embedder, clf, {"training": {"segments": len(texts)}})
    new = ["Die Miete und der Kredit drücken.", "Die Steuer ist fällig.", "Im Garten blühen Tulpen."]
    segs = _segments(texts + new)
    coded = model.code_segments(segs)
    assert [r["codes"] for r in coded[: len(texts)]] == [[code] if code else [] for _, code in TEXTS]
    assert all(len(r["codes"]) <= 1 for r in coded)
    assert coded[-2]["codes"] == ["STEUER"] and coded[-1]["codes"] == []
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert isinstance(again.classifier, SingleLabelLinear) and again.classifier.none is True and again.config.classifier.labels == "exclusive"
    assert [r["codes"] for r in again.code_segments(segs)] == [r["codes"] for r in coded]
    np.testing.assert_allclose(again.predict_proba(texts + new), model.predict_proba(texts + new), rtol=1e-12)
    assert "one code or none per segment" in (tmp_path / "m" / "README.md").read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the selection

FILLERS = ["heute", "gestern", "wir", "sie", "dann", "also", "noch", "schon", "wieder", "morgen", "oft", "selten"]
MONEY = ["Miete", "Kredit", "Schulden", "Rechnung", "Zinsen", "Gebühr", "Steuer", "Pfand", "Rate", "Mahnung"]


GRADE = {"SOME": 1, "MUCH": 2}


def _intensity(seed: int = 0, *, double: bool = False) -> TrainingSet:
    """Graded codes, as many code systems have them: a segment that names money worries
    now and then (4–5 of the money words) is SOME, one that names little else (9–10) is
    MUCH, one with at most one is uncoded; 20 documents of 12 segments, 4 filler words
    each. The middle grade lies between "no code" and MUCH: one linear model per code
    cannot fence it in, one model over the codes and "no code" can. ``double``: one
    segment carries both codes."""
    rng = np.random.default_rng(seed)
    book = Codebook.from_ids(list(GRADE))  # columns in the code system's order
    grades = ((0, 1), (4, 5), (9, 10))
    segments, rows = [], []
    for d in range(20):
        for k in range(12):
            grade = int(rng.integers(3))
            words = [*rng.choice(FILLERS, 4, replace=False), *rng.choice(MONEY, int(rng.choice(grades[grade])), replace=False)]
            rng.shuffle(words)
            text = " ".join(words) + "."
            segments.append(Segment(id=f"d{d}:{k}", transcript=f"d{d}", start=0, end=len(text), speaker="", text=text, role="unit"))
            rows.append([grade == GRADE[code] for code in book.leaf_ids])
    Y = np.array(rows, dtype=bool)
    if double:
        Y[0] = True
    return TrainingSet(tuple(segments), Y, np.array([s.transcript for s in segments]), book, "A")


def _tfidf(labels: str = "multi"):
    """A TF-IDF configuration (no embedder to load) with the decision rule ``labels``."""
    return config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0},
                             "classifier": {"C": 1.0, "labels": labels},
                             "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0}})


def test_graded_codes_are_coded_better_by_one_code_or_none_than_by_thresholds(tmp_path):
    """On graded codes (a segment is at most one grade) the configuration of one code or
    none codes clearly better out of fold than the multi-label one; the model codes at most
    one code per segment, also after loading, and its card says so."""
    from pipeline.learn.cv import cross_validate
    from pipeline.learn.train import train_on

    data = _intensity()
    one = cross_validate(data, config=_tfidf("exclusive"))
    multi = cross_validate(data, config=_tfidf("multi"))
    assert one["micro_f1"] >= multi["micro_f1"] + 0.05, (one["micro_f1"], multi["micro_f1"])
    model = train_on(data, config=_tfidf("exclusive"), cv=one)
    assert model.card["training"]["threshold_folds"] == ""
    coded = model.code_segments(list(data.segments))
    counts = [len(r["codes"]) for r in coded]
    assert max(counts) == 1 and counts.count(0) > 40 and counts.count(1) > 100
    # trained on all data, it codes most training segments right (the grades are learnable)
    truth = [[c for c, k in zip(data.codebook.leaf_ids, row) if k] for row in data.Y]
    assert np.mean([r["codes"] == t for r, t in zip(coded, truth)]) > 0.85
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert [r["codes"] for r in again.code_segments(list(data.segments))] == [r["codes"] for r in coded]
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "one code or none per segment" in card  # the classifier line


def test_train_points_to_one_code_or_none_where_no_segment_carries_two_codes(tmp_path):
    """The researcher whose codes exclude each other hears of `classifier.labels: exclusive`;
    one with a segment of two codes does not."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    config = tmp_path / "tfidf.yaml"
    config.write_text(json.dumps({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0},
                                  "training": {"codebook_examples": 0.0, "min_examples": 1}}), encoding="utf-8")
    rng = np.random.default_rng(0)
    rows = [{"id": i, "text": f"{rng.choice(['Das Geld fehlte', 'Die Sprache war schwer', 'Wir fuhren hin'])} am Tag {i}.",
             "codes": []} for i in range(1, 41)]
    for r in rows:
        r["codes"] = ["GELD"] if "Geld" in r["text"] else ["SPRACHE"] if "Sprache" in r["text"] else []
    hints = {}
    for name, extra in (("apart", []), ("both", ["GELD", "SPRACHE"])):
        units = tmp_path / f"{name}.jsonl"
        units.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows + ([{"id": 41, "text": "Geld und Sprache.", "codes": extra}] if extra else [])),
                         encoding="utf-8")
        result = CliRunner().invoke(app, ["train", str(units), "--out", str(tmp_path / f"m-{name}"), "--config", str(config), "--no-cv"])
        assert result.exit_code == 0, result.output
        hints[name] = "classifier.labels: exclusive" in result.stderr
    assert hints == {"apart": True, "both": False}
