"""Configuration selection (pipeline.learn.select) and models of several configurations (pipeline.learn.joint)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from pipeline.core.codebook import Codebook
from pipeline.core.config import ClassifierConfig, config_from_dict
from pipeline.core.types import Segment
from pipeline.learn.fit import TrainingSet
from pipeline.learn.model import load_model, save_model
from pipeline.learn.select import Candidate, train_selected

# A code that lives in one word (a made-up keyword) and one that lives in meaning:
# money trouble said in ever different words, beside everyday sentences about other things.
MONEY = [
    "Das Geld reicht hinten und vorne nicht.", "Wir konnten die Rechnung nicht bezahlen.",
    "Die Kosten sind uns über den Kopf gewachsen.", "Am Monatsende ist das Konto leer.",
    "Für die Reise fehlten schlicht die Mittel.", "Unser Budget war nach drei Wochen aufgebraucht.",
    "Die Bank hat den Kredit abgelehnt.", "Wir mussten bei Freunden Schulden machen.",
    "Das Projekt scheiterte an der Finanzierung.", "Die Miete frisst fast das ganze Gehalt.",
    "Ohne Zuschuss wäre das unbezahlbar gewesen.", "Die Preise sind viel zu hoch für uns.",
    "Wir haben jeden Euro zweimal umgedreht.", "Die Förderung wurde gestrichen, jetzt fehlt das Kapital.",
    "Das können wir uns finanziell nicht leisten.", "Die Ausgaben übersteigen die Einnahmen deutlich.",
    "Eine Niederlassung wäre zu teuer.", "Der Etat für Übersetzungen ist erschöpft.",
    "Das Darlehen müssen wir bald zurückzahlen.", "Die Firma steht kurz vor der Pleite.",
]
OTHER = [
    "Heute scheint die Sonne über dem See.", "Der Hund schläft gern auf dem Sofa.",
    "Im Garten blühen die ersten Tulpen.", "Wir haben gestern Abend Nudeln gekocht.",
    "Der Zug kam pünktlich in Lyon an.", "Meine Schwester spielt gern Klavier.",
    "Das Museum zeigt alte Landkarten.", "Im Winter fahren wir in die Berge.",
    "Die Kinder bauen eine Sandburg.", "Er liest jeden Morgen die Zeitung.",
    "Der Vortrag handelte von Vögeln.", "Am Wochenende regnete es ununterbrochen.",
    "Die Katze jagt einen Schmetterling.", "Wir trafen uns im Café am Markt.",
    "Das Konzert dauerte drei Stunden.", "Sie pflanzt Tomaten auf dem Balkon.",
    "Der Fluss führt im Frühjahr Hochwasser.", "Unser Nachbar repariert sein Fahrrad.",
    "Die Bibliothek öffnet um neun Uhr.", "Auf dem Tisch steht ein Strauß Blumen.",
]
KEYWORD = "Quorxat"


def _data(seed: int = 0) -> TrainingSet:
    """20 documents of 8 segments; document d says only MONEY[d] and OTHER[d], so that
    held-out documents say money trouble in words the training folds never saw."""
    rng = np.random.default_rng(seed)
    segments, rows = [], []
    for d in range(len(MONEY)):
        for k in range(8):
            money = bool(rng.random() < 0.4)
            text = MONEY[d] if money else OTHER[d]
            key = bool(rng.random() < 0.3)
            if key:
                text = text[:-1] + f", meinte {KEYWORD} dazu."
            else:
                # near misses: one letter off, which a sentence embedding hardly tells apart
                text = text[:-1] + f", meinte {rng.choice(['Quorxit', 'Quarxat', 'Qworxat', 'Quorxal'])} dazu."
            segments.append(Segment(id=f"d{d}:{k}", transcript=f"d{d}", start=0, end=len(text), speaker="", text=text, role="unit"))
            rows.append([key, money])
    book = Codebook.from_ids(["KEY", "MONEY"])
    return TrainingSet(tuple(segments), np.array(rows, dtype=bool), np.array([s.transcript for s in segments]), book, "A")


def _pool():
    common = {"training": {"codebook_examples": 0.0, "threshold_shrink": 0.0}}
    words = config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0}, "classifier": {"C": 10.0}, **common})
    meaning = config_from_dict({"embedder": {"name": "use-multilingual"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0}, "classifier": {"C": 0.1}, **common})
    return [Candidate("words", "words", words), Candidate("meaning", "meaning", meaning)]


@pytest.fixture(scope="module")
def selected():
    data = _data()
    lines = []
    model = train_selected(data, base=_pool()[0].config, pool=_pool(), progress=lines.append)
    return data, model, lines


def test_the_keyword_code_takes_the_lexical_candidate_and_the_card_lists_every_candidate(selected):
    data, model, lines = selected
    sel = model.card["selection"]
    # The keyword code is coded from words (alone, or beside meaning in the mean of both),
    # never from the sentence embedding alone.
    assert "words" in sel["per_code"]["KEY"] and sel["per_code"]["KEY"] != "meaning", sel["per_code"]
    assert [c["name"] for c in sel["candidates"]] == ["words", "meaning", "mean of meaning and words"]
    plain = train_selected(data, base=_pool()[0].config, pool=_pool(), ensemble=False).card["selection"]
    assert plain["per_code"] == {"KEY": "words", "MONEY": "meaning"}, plain["candidates"]
    for c in sel["candidates"]:
        assert 0 <= c["micro_f1"] <= 1 and 0 <= c["macro_f1"] <= 1 and set(c["per_code_f1"]) == {"KEY", "MONEY"}
    assert model.card["cv"]["optimistic"] is True
    assert any(line.startswith("[2/2] meaning") for line in lines), lines  # progress, one line per candidate


def test_a_selected_model_keeps_its_predictions_through_save_and_load(selected, tmp_path):
    data, model, _ = selected
    texts = [f"Die Gebühren haben uns ruiniert, meinte {KEYWORD} dazu.", "Im Park spielen Kinder Fußball, meinte Anna dazu.", *data.texts[:20]]
    before = model.predict_proba(texts)
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    np.testing.assert_allclose(again.predict_proba(texts), before, rtol=1e-5, atol=1e-6)
    assert np.array_equal(again.classifier.thresholds_, model.classifier.thresholds_)
    segs = [Segment(id=f"n:{i}", transcript="n", start=0, end=len(t), speaker="", text=t, role="unit") for i, t in enumerate(texts)]
    assert [r["codes"] for r in again.code_segments(segs)] == [r["codes"] for r in model.code_segments(segs)]
    assert "KEY" in again.code_segments(segs[:1])[0]["codes"]
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "## Configuration selection" in card and "| words |" in card and "| meaning |" in card and "optimistic" in card


def test_a_model_of_two_configurations_codes_each_code_as_its_member_alone(selected):
    """The joint linear model gives each code exactly the probabilities of the candidate
    chosen for it, trained alone."""
    data, model, _ = selected
    sel = model.card["selection"]
    if len(sel["members"]) < 2:
        pytest.skip("the selection chose one candidate for both codes on this data")
    from pipeline.learn.joint import JointEmbedder

    assert isinstance(model.embedder, JointEmbedder)
    texts = data.texts[:30]
    P = model.predict_proba(texts)
    alone = {c.name: train_selected(data, base=c.config, pool=[c]).predict_proba(texts) for c in _pool()}
    for j, code in enumerate(data.codebook.leaf_ids):
        chosen = sel["per_code"][code]
        if chosen in alone:
            expected = alone[chosen][:, j]
        else:  # the mean of two candidates' logits
            assert chosen.startswith("mean of "), chosen
            z = np.mean([np.log(P_[:, j] / (1 - P_[:, j])) for P_ in alone.values()], axis=0)
            expected = 1 / (1 + np.exp(-z))
        np.testing.assert_allclose(P[:, j], expected, rtol=1e-4, atol=1e-6)


def _germeval_folder(folder, data):
    """The synthetic data as GermEval files: the first 120 comments train, the rest test."""
    import csv

    from pipeline.research.benchmark_germeval import FILES, LABELS

    folder.mkdir()
    for part, rows in (("train", range(0, 120)), ("test", range(120, len(data.segments)))):
        with open(folder / FILES[part], "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["comment_id", "comment_text", *LABELS])
            for i in rows:
                w.writerow([i, data.segments[i].text, int(data.Y[i, 0]), int(data.Y[i, 1]), int(i % 3 == 0)])


def test_the_choice_sees_no_test_data(tmp_path):
    """Shuffling the labels of the test file leaves the choice (and every candidate's
    figures) unchanged, while the test scores change: only the training file decides."""
    import csv

    from pipeline.research.benchmark_germeval import FILES, LABELS, run_germeval

    data = _data(seed=1)
    _germeval_folder(tmp_path / "ge", data)
    words = _pool()[0]
    strong = config_from_dict({**words.config.to_dict(), "classifier": {"C": 0.1}})
    pool = [words, Candidate("words C=0.1", "words", strong)]
    first = run_germeval(tmp_path / "ge", config=words.config, pool=pool)
    test = tmp_path / "ge" / FILES["test"]
    with open(test, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    order = np.random.default_rng(5).permutation(len(rows))
    with open(test, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["comment_id", "comment_text", *LABELS])
        for r, k in zip(rows, order):
            w.writerow([r["comment_id"], r["comment_text"], *(rows[k][lab] for lab in LABELS)])
    second = run_germeval(tmp_path / "ge", config=words.config, pool=pool)

    def strip(sel):
        return {**sel, "seconds": 0, "candidates": [{**c, "seconds": 0} for c in sel["candidates"]]}

    assert strip(first["selection"]) == strip(second["selection"])
    assert first["results"]["autocode"]["per_label"] != second["results"]["autocode"]["per_label"]
    assert first["results"]["peer"]["per_label"] != second["results"]["peer"]["per_label"]


def test_an_old_format_model_still_loads(repo, tmp_path):
    """A model written by autocode before joint models (format version 2, tests/data/model_v2,
    a tiny TF-IDF model) loads and codes as it did then."""
    copy = tmp_path / "old"
    shutil.copytree(repo / "tests" / "data" / "model_v2", copy)
    assert json.loads((copy / "model.json").read_text(encoding="utf-8"))["format_version"] == 2
    model = load_model(copy)
    assert model.codes == ("GELD",)
    # the probabilities the old autocode gave when it wrote the model
    np.testing.assert_allclose(model.predict_proba(["Die Kosten sind hoch.", "Der Hund bellt."])[:, 0], [0.693855, 0.298319], atol=2e-6)


@pytest.mark.slow
def test_germeval_benchmark_on_a_slice_scores_with_the_official_measure_and_runs_the_peer(shared, tmp_path):
    """`autocode benchmark germeval` on the first 150 comments of each file: the measure
    is scikit-learn's two-class macro-F1 per label, and the peer runs in the same run."""
    from sklearn.metrics import f1_score
    from typer.testing import CliRunner

    from pipeline.cli import app
    from pipeline.research.benchmark_germeval import LABELS, load_germeval, official_scores

    folder = shared / "data" / "germeval2021"
    if not folder.is_dir():
        pytest.skip("../shared/data/germeval2021 is not available")
    _, Y = load_germeval(folder, "test", limit=150)
    rng = np.random.default_rng(0)
    pred = rng.random(Y.shape) < 0.4
    scores = official_scores(Y, pred)
    for j, lab in enumerate(LABELS):
        assert scores["per_label"][lab] == round(f1_score(Y[:, j], pred[:, j], average="macro"), 4)
    assert scores["mean"] == round(float(np.mean([f1_score(Y[:, j], pred[:, j], average="macro") for j in range(3)])), 4)
    fixed = tmp_path / "tfidf.yaml"
    fixed.write_text("embedder: {name: tfidf}\nfeatures: {prototypes: 0.0, center: 0.0}\nclassifier: {C: 1.0}\ntraining: {codebook_examples: 0.0}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["benchmark", "germeval", "--data", str(folder), "--out", str(tmp_path / "out"), "--limit", "150", "--config", str(fixed)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out" / "benchmark.json").read_text(encoding="utf-8"))
    assert set(report["results"]) == {"autocode", "peer"} and report["test_comments"] == 150
    for method in ("autocode", "peer"):
        r = report["results"][method]
        assert set(r["per_label"]) == set(LABELS) and abs(r["mean"] - np.mean(list(r["per_label"].values()))) < 1e-3
    assert "| peer |" in (tmp_path / "out" / "benchmark.md").read_text(encoding="utf-8")
    # The peer's figures are the protocol's TF-IDF + LinearSVC, one per label, on the same slice.
    from pipeline.research.benchmark import fit_peer

    train, Ytr = load_germeval(folder, "train", limit=150)
    test, _ = load_germeval(folder, "test", limit=150)
    peer = np.column_stack([fit_peer([s.text for s in train], Ytr[:, j].astype(int), seed=0)([s.text for s in test]) for j in range(3)])
    assert report["results"]["peer"]["per_label"] == official_scores(Y, peer.astype(bool))["per_label"]


@pytest.mark.slow
def test_train_without_config_chooses_and_says_so(repo, tmp_path):
    """`autocode train` without --config runs the selection: progress on stderr, every
    candidate in the card, and the model classifies; --config fixes the configuration."""
    from typer.testing import CliRunner

    from pipeline.cli import app

    records = [json.loads(line) for line in (repo / "corpus" / "codings.jsonl").read_text(encoding="utf-8").splitlines()]
    docs = ("int01_clustermanagement", "int02_partnercluster_frankreich", "int04_zulieferer_gross")
    coded = tmp_path / "coded.jsonl"
    coded.write_text("".join(json.dumps(r) + "\n" for r in records if r["coder"] == "A" and r["document"] in docs), encoding="utf-8")
    runner = CliRunner()
    args = ["train", str(coded), "--texts", str(repo / "corpus" / "transcripts"), "--codebook", str(repo / "configs" / "codebook.yaml")]
    result = runner.invoke(app, [*args, "--out", str(tmp_path / "m"), "--select-by", "macro"])
    assert result.exit_code == 0, result.output
    assert "choosing among 9 candidate configurations" in result.stderr and "[9/9] hybrid C=3" in result.stderr
    meta = json.loads((tmp_path / "m" / "model.json").read_text(encoding="utf-8"))
    names = [c["name"] for c in meta["selection"]["candidates"]]
    assert names[:9] == [f"{f} C={c}" for f, grid in (("default", ("0.01", "0.02", "0.05")), ("fast", ("0.3", "1", "3")), ("hybrid", ("0.3", "1", "3"))) for c in grid]
    assert meta["selection"]["measure"] == "macro-F1" and meta["cv"]["optimistic"] is True
    card = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert all(f"| {n} |" in card for n in names)
    out = tmp_path / "out"
    result = runner.invoke(app, ["classify", str(repo / "corpus" / "transcripts" / "int03_kmu_sensorik.txt"), "--model", str(tmp_path / "m"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    fixed = runner.invoke(app, [*args, "--out", str(tmp_path / "f"), "--config", str(repo / "configs" / "fast.yaml"), "--no-cv"])
    assert fixed.exit_code == 0, fixed.output
    assert "choosing among" not in fixed.stderr
    assert "selection" not in json.loads((tmp_path / "f" / "model.json").read_text(encoding="utf-8"))


def test_members_that_share_features_share_one_block_and_keep_their_probabilities():
    """Two candidates differing only in C read one feature block; each code keeps the
    probabilities of its own member (dense standardised and sparse features alike)."""
    import scipy.sparse as sp

    from pipeline.learn.classify import MultiLabelLogReg
    from pipeline.learn.joint import joint_classifier

    rng = np.random.default_rng(0)
    X = rng.normal(size=(80, 6)) * [1, 5, 0.1, 2, 1, 3] + [0, 4, -1, 0, 2, 0]
    Y = np.column_stack([X[:, 0] + rng.normal(size=80) > 0, X[:, 1] - 4 + rng.normal(size=80) > 0])
    for features in (X, sp.csr_matrix(np.abs(X))):
        weak, strong = MultiLabelLogReg(C=0.01).fit(features, Y), MultiLabelLogReg(C=10).fit(features, Y)
        joint = joint_classifier([weak, strong], [0, 0], [6], [[(0, 1.0)], [(1, 1.0)]], np.array([0.3, 0.6]), classifier=ClassifierConfig(), seed=0)
        assert joint.coef_.shape == (2, 6)
        P = joint.predict_proba(features)
        np.testing.assert_allclose(P[:, 0], weak.predict_proba(features)[:, 0], rtol=1e-6)
        np.testing.assert_allclose(P[:, 1], strong.predict_proba(features)[:, 1], rtol=1e-6)
        assert not np.allclose(weak.predict_proba(features)[:, 1], strong.predict_proba(features)[:, 1], rtol=1e-3)


def test_a_single_label_mean_of_two_members_codes_the_arg_max_of_their_mean_decision_values():
    """The single-label ensemble candidate as one joint model: two linear SVMs over their
    own feature blocks; the joint model's decision values are the mean of theirs, and each
    segment gets the one code with the highest mean."""
    from pipeline.learn.classify import SingleLabelLinear
    from pipeline.learn.joint import joint_classifier

    rng = np.random.default_rng(1)
    A, B = rng.normal(size=(150, 4)) * [1, 3, 0.5, 2], rng.normal(size=(150, 3)) + [0, 5, 0]
    y = (A[:, 0] + B[:, 0] + 0.5 * rng.normal(size=150) > 0).astype(int) + (A[:, 1] - B[:, 2] > 1.5)
    Y = np.eye(3, dtype=bool)[y]
    first, second = SingleLabelLinear(C=0.1).fit(A, Y), SingleLabelLinear(C=1.0).fit(B, Y)
    half = [[(0, 0.5), (1, 0.5)]] * 3
    joint = joint_classifier([first, second], [0, 1], [4, 3], half, np.zeros(3), classifier=ClassifierConfig(labels="single", name="svm"), seed=0)
    assert isinstance(joint, SingleLabelLinear)
    X = np.hstack([A, B])
    mean = (first.decision_function(A) + second.decision_function(B)) / 2
    np.testing.assert_allclose(joint.decision_function(X), mean, rtol=1e-6, atol=1e-8)
    assert np.array_equal(joint.predict(X).argmax(axis=1), mean.argmax(axis=1))
    assert (joint.predict(X).sum(axis=1) == 1).all()
    # the two members disagree somewhere, so the mean is a model of its own
    assert (first.predict(A).argmax(axis=1) != second.predict(B).argmax(axis=1)).any()


def test_a_single_label_selection_tries_the_mean_of_two_families_and_codes_one_code_per_segment(tmp_path):
    """Single-label selection (the Manifesto benchmark's): the card lists both candidates
    and their mean; the model codes exactly one code per segment, also after loading."""
    data = _data()
    labels = np.where(data.Y[:, 0], 0, np.where(data.Y[:, 1], 1, 2))
    book = Codebook.from_ids(["KEY", "MONEY", "OTHER"])
    single = TrainingSet(data.segments, np.eye(3, dtype=bool)[labels], data.groups, book, "A")
    pool = [Candidate(c.name, c.family, config_from_dict({**c.config.to_dict(), "classifier": {"name": "svm", "labels": "single", "C": 0.5}})) for c in _pool()]
    lines = []
    model = train_selected(single, base=pool[0].config, pool=pool, measure="macro", progress=lines.append)
    names = [c["name"] for c in model.card["selection"]["candidates"]]
    assert names == ["words", "meaning", "mean of words and meaning"] or names == ["words", "meaning", "mean of meaning and words"]
    assert any(line.startswith("[+] mean of") for line in lines)
    assert model.card["selection"]["choice"] == "whole model"
    # on this data the mean wins (each family misses what the other sees): one joint model
    assert len(model.card["selection"]["members"]) == 2, lines
    save_model(model, tmp_path / "m")
    again = load_model(tmp_path / "m")
    segs = list(single.segments[:40])
    coded = again.code_segments(segs)
    assert [r["codes"] for r in coded] == [r["codes"] for r in model.code_segments(segs)]
    assert all(len(r["codes"]) == 1 for r in coded)


def test_transfer_figures_of_a_selected_model_come_from_the_selected_row(selected, tmp_path):
    """`benchmark transfer --card M` on a model made by selection records the row
    'selected' (the selection repeated per training part), and refuses without --select."""
    from pipeline.core.errors import ModelPathError
    from pipeline.research.benchmark_transfer import card_figures, check_card_model

    _, model, _ = selected
    save_model(model, tmp_path / "m")
    configs = {"default": _pool()[0].config}
    with pytest.raises(ModelPathError, match="--select"):
        check_card_model(tmp_path / "m", configs)
    loaded, row = check_card_model(tmp_path / "m", configs, select=True)
    assert row == "selected" and "selection" in loaded.card

    def result(f):
        return {"transfer": {"a→b": {"micro_f1": f, "macro_f1": f, "parent_micro_f1": f, "per_code_f1": {}}}, "cv": {"b": {"micro_f1": f + 0.1}, "both": {"micro_f1": f, "macro_f1": f}}}

    report = {"registers": {"a": {}, "b": {}}, "results": {"default": result(0.4), "selected": result(0.6)}}
    figures = card_figures(report, row)
    assert figures["directions"]["a→b"]["micro_f1"] == 0.6 and figures["directions"]["a→b"]["cv_micro_f1_of_coded_register"] == 0.7
    assert figures["cv_both"]["micro_f1"] == 0.6 and "nested" in figures["procedure"]
    loaded.card["transfer"] = figures
    save_model(loaded, tmp_path / "m")
    readme = (tmp_path / "m" / "README.md").read_text(encoding="utf-8")
    assert "| a→b | 0.600 |" in readme and "selection repeated" in readme


@pytest.mark.parametrize("lead, chosen", [(0.005, 1), (0.015, 2)])
def test_the_mean_of_two_candidates_must_lead_the_best_one_by_the_margin(lead, chosen):
    """The mean codes at the cost of both its members, so as a whole model it is chosen
    only with a lead of MARGIN over the best single candidate."""
    from pipeline.learn.select import MARGIN, _choose, _Tried

    assert 0.005 < MARGIN < 0.015
    Y = np.eye(2, dtype=bool)[[0, 1, 0, 1]]
    book = Codebook.from_ids(["A", "B"])

    def tried(name, macro, parts=()):
        return _Tried(Candidate(name, name, _pool()[0].config), np.zeros((4, 2)), np.zeros(2), Y.copy(),
                      {"micro_f1": macro, "macro_f1": macro}, np.zeros(2), 0.0, None, parts)

    pool = [tried("a", 0.30), tried("b", 0.31), tried("mean", 0.31 + lead, ((0, 0.5), (1, 0.5)))]
    choice, _, _ = _choose(pool, [0, 1, 2], Y, "macro_f1", book, True)
    assert set(choice.tolist()) == {chosen}


def _marked(seed: int = 0) -> TrainingSet:
    """The data of :func:`_data`, each document's segments also naming a word no other
    document has (``merkmal3`` in document d3, at least twice: a vocabulary with min_df=2
    takes it in whenever it sees that document)."""
    data = _data(seed)
    segments = tuple(
        Segment(id=s.id, transcript=s.transcript, start=0, end=len(s.text) + 12, speaker="", text=f"{s.text} merkmal{s.transcript[1:]}", role="unit")
        for s in data.segments
    )
    return TrainingSet(segments, data.Y, data.groups, data.codebook, "A")


def _lexical_pool():
    lexical = config_from_dict({"embedder": {"name": "use-multilingual"}, "features": {"lexical": True, "prototypes": 0.0, "center": 0.0},
                                "classifier": {"C": 1.0}, "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0}})
    return [Candidate("lexical", "lexical", lexical)]


def test_each_fold_of_the_selection_learns_its_vocabulary_from_its_training_documents_alone(monkeypatch):
    """A word that occurs only in a fold's held-out documents is in no vocabulary that
    scores that fold: the selection fits the word and character TF-IDF in every fold on
    the fold's training rows, and only the final model on all of them."""
    from pipeline.learn.classify import make_folds

    fits = _spy_fits(monkeypatch)
    data, pool = _marked(), _lexical_pool()
    train_selected(data, base=pool[0].config, pool=pool)
    folds = make_folds(data.groups, data.Y, pool[0].config.training.cv_folds, seed=pool[0].config.training.seed).splits
    assert len(folds) >= 2
    everything = sorted(data.texts)
    # the final model sees every document, so every document's own word is in its vocabulary
    final = [vocab for texts, vocab in fits if texts == everything]
    assert final and all(f"merkmal{d}" in final[-1] for d in range(len(MONEY)))
    for train, test in folds:
        held_out = {f"merkmal{g[1:]}" for g in set(data.groups[test])}
        mine = [vocab for texts, vocab in fits if texts == sorted(data.texts[i] for i in train)]
        assert mine, "no featurizer was fitted on this fold's training rows alone"
        assert all(not (vocab & held_out) for vocab in mine), sorted(mine[0] & held_out)
    # no other fit: each is a fold's training rows or the final model's
    assert len(fits) == len(folds) + len(final)


def _spy_fits(monkeypatch) -> list:
    """Record every Featurizer fit: (sorted training texts, word vocabulary)."""
    from pipeline.learn.features import Featurizer

    fits = []
    fit = Featurizer.fit

    def spy(self, texts, **kw):
        texts = list(texts)
        out = fit(self, texts, **kw)
        fits.append((sorted(texts), set(self.word_.vocabulary_)))
        return out

    monkeypatch.setattr(Featurizer, "fit", spy)
    return fits


def _inner_folds_fit_alone(data, fits, rows, config) -> None:
    """Each inner fold (the threshold choice's) of training on ``rows`` fitted a vocabulary
    on its own training rows, holding no word that only its held-out documents have."""
    from pipeline.learn.classify import make_folds

    inner = make_folds(data.groups[rows], data.Y[rows], config.training.cv_folds, seed=config.training.seed).splits
    assert len(inner) >= 2
    for train, test in inner:
        held_out = {f"merkmal{g[1:]}" for g in set(data.groups[rows][test])}
        mine = [vocab for texts, vocab in fits if texts == sorted(data.texts[i] for i in rows[train])]
        assert mine, "no featurizer was fitted on this inner fold's training rows alone"
        assert all(not (vocab & held_out) for vocab in mine), sorted(mine[0] & held_out)


def test_the_thresholds_of_a_fixed_configuration_are_chosen_on_features_fitted_inside_each_inner_fold(monkeypatch):
    """Training with one configuration (``--config``) chooses each code's threshold on
    inner folds; a word that only an inner fold's held-out documents have is in no
    vocabulary that scores them, and the model itself learns from every document."""
    from pipeline.learn.fit import fit_classifier

    fits = _spy_fits(monkeypatch)
    data, config = _marked(), _lexical_pool()[0].config
    everything = np.arange(len(data.segments))
    _, featurizer, model, _ = fit_classifier(config, data, everything)
    _inner_folds_fit_alone(data, fits, everything, config)
    assert all(f"merkmal{d}" in featurizer.word_.vocabulary_ for d in range(len(MONEY)))
    assert model.thresholds_.shape == (2,)
    # one fit per inner fold and the model's own: nothing fitted on rows of both sides
    assert len(fits) == config.training.cv_folds + 1


def test_evaluate_with_one_configuration_fits_no_vocabulary_on_an_inner_held_out_document(monkeypatch):
    """``autocode evaluate --config``: each outer fold's inner threshold folds fit their
    own vocabularies on their own training documents."""
    from dataclasses import replace

    from pipeline.learn.classify import make_folds
    from pipeline.learn.cv import cross_validate

    fits = _spy_fits(monkeypatch)
    data, config = _marked(), _lexical_pool()[0].config
    config = replace(config, training=replace(config.training, cv_folds=3))
    result = cross_validate(data, config=config)
    assert 0.0 <= result["micro_f1"] <= 1.0
    outer = make_folds(data.groups, data.Y, 3, seed=config.training.seed).splits
    for train, test in outer:
        _inner_folds_fit_alone(data, fits, train, config)
        outer_held_out = {f"merkmal{g[1:]}" for g in set(data.groups[test])}
        outer_fit = [vocab for texts, vocab in fits if texts == sorted(data.texts[i] for i in train)]
        assert outer_fit and not (outer_fit[0] & outer_held_out)
    assert len(fits) == 3 * (3 + 1)
