"""Evaluating a model made by configuration selection: the selection itself is
cross-validated, nested (pipeline.research.evaluate, ``autocode evaluate``)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace

import numpy as np
import pytest
from test_select import _data, _pool
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.errors import ModelError
from pipeline.learn.classify import make_folds
from pipeline.learn.fit import TrainingSet
from pipeline.learn.select import presets, train_selected
from pipeline.research.evaluate import (
    cross_validate_selected,
    predict_matrix,
    selected_cv_predictions,
    selection_settings,
)

runner = CliRunner()


def _two_coders(data: TrainingSet) -> TrainingSet:
    """``data`` as if coded by two coders and joined with ``--combine each``: every
    segment once per coder, weight 1/2 each, B's copies after A's."""
    n = len(data.segments)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    by_coder = {"A": (np.arange(n), data.Y), "B": (np.arange(n, 2 * n), ~data.Y)}
    return TrainingSet(tuple(data.segments[i] for i in rows), np.vstack([data.Y, ~data.Y]), data.groups[rows], data.codebook, "A+B",
                       data.segments, rows, np.full(2 * n, 0.5), ("A", "B"), "each", by_coder)


def test_a_subset_keeps_the_weights_each_coders_rows_and_the_whole_documents_as_context():
    data = _two_coders(_data())
    data = replace(data, weights=np.linspace(0.1, 1.0, len(data.segments)))
    n = len(data.segments) // 2
    rows = np.array([3, 17, n + 3, 40])  # documents d0, d2, d5; segment d0:3 for A and for B
    sub = data.subset(rows)
    assert [s.id for s in sub.segments] == ["d0:3", "d2:1", "d0:3", "d5:0"]
    np.testing.assert_array_equal(sub.weights, data.weights[rows])
    np.testing.assert_array_equal(sub.Y, data.Y[rows])
    assert sub.coders == ("A", "B") and sub.combine == "each"
    # each coder's rows, renumbered into the subset, with that coder's own codes
    assert sub.by_coder["A"][0].tolist() == [0, 1, 3] and sub.by_coder["B"][0].tolist() == [2]
    np.testing.assert_array_equal(sub.by_coder["B"][1], ~data.Y[[3]])
    # the context is the three documents whole (8 segments each), each segment once
    assert sorted({s.transcript for s in sub.all_segments}) == ["d0", "d2", "d5"] and len(sub.all_segments) == 24
    assert [sub.all_segments[r].id for r in sub.all_rows] == [s.id for s in sub.segments]
    # a coder without rows in the subset has no figures to give
    assert set(data.subset(np.array([n + 1])).by_coder) == {"B"}


@pytest.fixture(scope="module")
def nested():
    data, base, lines = _data(), _pool()[0].config, []
    pred, folds, chosen = selected_cv_predictions(data, config=base, measure="macro", pool=_pool(), progress=lines.append)
    return data, base, pred, folds, chosen, lines


def test_each_outer_fold_codes_its_documents_as_the_selection_on_its_training_part_does(nested):
    data, base, pred, folds, chosen, lines = nested
    assert folds.by == "document" and len(folds.splits) == len(chosen) == 5
    assert [c.fold for c in chosen] == [1, 2, 3, 4, 5]
    expected = make_folds(data.groups, data.Y, base.training.cv_folds, seed=base.training.seed).splits
    for (train, test), (train2, test2), fold in zip(folds.splits, expected, chosen):
        np.testing.assert_array_equal(test, test2)
        assert not set(data.groups[train]) & set(data.groups[test])
        assert fold.documents == tuple(sorted(set(data.groups[test]))) and fold.segments == len(test)
        model = train_selected(data.subset(train), base=base, measure="macro", pool=_pool())
        sel = model.card["selection"]
        assert fold.members == tuple(sel["members"]) and fold.per_code == sel["per_code"] and fold.choice == sel["choice"]
        np.testing.assert_array_equal(pred[test], predict_matrix(model, data.subset(test)))
    # The keyword code is learnable from words: held out, the nested selection finds it.
    key = data.Y[:, 0]
    assert (pred[:, 0] & key).sum() > 0.5 * key.sum(), (pred[:, 0] & key).sum()
    assert sum(line.startswith("outer fold ") for line in lines) == 10, lines  # a line as each fold starts and ends


def test_the_figures_of_the_nested_selection_are_its_out_of_fold_predictions_scored(nested):
    from pipeline.learn.cv import scores_with_parents

    data, base, pred, _, chosen, _ = nested
    cv = cross_validate_selected(data, config=base, measure="macro", pool=_pool())
    assert cv["micro_f1"] == pytest.approx(scores_with_parents(data.Y, pred, data.codebook)["micro_f1"])
    assert cv["selection"]["nested"] is True and cv["selection"]["measure"] == "macro-F1"
    assert cv["selection"]["candidates"] == ["words", "meaning"]
    assert [f["members"] for f in cv["selection"]["folds"]] == [c.members for c in chosen]
    assert "nested" in cv["evaluated"] and "each of the 5 outer folds chose its own configuration" in cv["evaluated"]


def test_a_selection_among_one_candidate_scores_as_the_cross_validation_of_that_configuration():
    """Nothing to choose: the nested selection trains and codes each outer fold as the
    cross-validation of the one configuration does (the same folds, thresholds and codes)."""
    from pipeline.learn.cv import cross_validate

    data, words = _data(), _pool()[0]
    nested = cross_validate_selected(data, config=words.config, pool=[words])
    fixed = cross_validate(data, config=words.config)
    assert nested["per_code"] == fixed["per_code"]
    assert (nested["micro_f1"], nested["macro_f1"]) == (fixed["micro_f1"], fixed["macro_f1"])
    assert {f["choice"] for f in nested["selection"]["folds"]} == {"whole model"}


def test_the_selection_is_run_again_with_the_candidates_and_measure_of_the_card():
    words, base = _pool()[0].config, _pool()[1].config
    card = {"selection": {
        "measure": "macro-F1",
        "candidates": [{"name": "fast C=3", "family": "fast", "C": 3.0}, {"name": "words", "family": "words", "C": 10.0},
                       {"name": "mean of words and fast C=3", "family": "ensemble", "C": 10.0}],
        "member_configs": {"words": words.to_dict()},
    }}
    pool, measure, ensemble = selection_settings(card, base)
    assert [c.name for c in pool] == ["fast C=3", "words"] and measure == "macro" and ensemble is True
    fast = presets(base)["fast"]
    assert pool[0].config == replace(fast, classifier=replace(fast.classifier, C=3.0))
    assert pool[1].config == words
    card["selection"]["candidates"] = card["selection"]["candidates"][:2]
    assert selection_settings(card, base)[2] is False
    del card["selection"]["member_configs"]
    with pytest.raises(ModelError, match="names candidate 'words' of family 'words' but records no configuration"):
        selection_settings(card, base)
    with pytest.raises(ModelError, match="expected one of micro-F1, macro-F1"):
        selection_settings({"selection": {"measure": "accuracy", "candidates": card["selection"]["candidates"]}}, base)


# --- through the command line --------------------------------------------------------------------

DOCUMENTS = ("int04_zulieferer_gross", "int06_ministerium", "int07_kmu_software")


@pytest.fixture(scope="module")
def selected_model(repo, tmp_path_factory):
    """Three sample interviews (coder A) and a model chosen on them among two candidates
    of the fast preset (USE + n-grams, C 0.3 and 1): ``(codings file, model folder)``."""
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.learn.model import save_model
    from pipeline.learn.select import candidates
    from pipeline.learn.train import training_data

    root = tmp_path_factory.mktemp("selected")
    (root / "transcripts").mkdir()
    for doc in DOCUMENTS:
        shutil.copy(repo / "corpus" / "transcripts" / f"{doc}.txt", root / "transcripts")
    with open(repo / "corpus" / "codings.jsonl", encoding="utf-8") as fh:
        lines = [line for line in fh if json.loads(line)["document"] in DOCUMENTS and json.loads(line)["coder"] == "A"]
    coded = root / "codings.jsonl"
    coded.write_text("".join(lines), encoding="utf-8")
    base = load_config(None)
    _, data = training_data([coded], config=base, codebook=load_codebook(repo / "configs" / "codebook.yaml"))
    model = train_selected(data, base=base, pool=candidates(base, families=("fast",), grids={"fast": (0.3, 1.0)}))
    save_model(model, root / "model")
    return coded, root / "model"


def test_evaluate_on_a_selected_model_cross_validates_the_selection_nested(selected_model, tmp_path):
    coded, model = selected_model
    result = runner.invoke(app, ["evaluate", str(coded), "--model", str(model), "--json", str(tmp_path / "cv.json")])
    assert result.exit_code == 0, result.output
    assert "figures of the selection procedure, nested: each of the 3 outer folds chose its own configuration" in result.stdout
    assert "micro-F1" in result.stdout and "HEM-FINANZEN" in result.stdout  # the usual table
    assert "what each outer fold chose on its training part:" in result.stdout
    assert "made by configuration selection: evaluating the selection procedure, nested" in result.stderr
    assert "outer fold 3/3 chose " in result.stderr
    cv = json.loads((tmp_path / "cv.json").read_text(encoding="utf-8"))
    assert cv["folds"] == 3 and cv["fold_rule"] == "3 folds grouped by document"
    assert cv["selection"]["candidates"] == ["fast C=0.3", "fast C=1"] and cv["selection"]["measure"] == "micro-F1"
    assert sorted(d for f in cv["selection"]["folds"] for d in f["documents"]) == sorted(DOCUMENTS)  # each held out once
    for fold in cv["selection"]["folds"]:
        assert set(fold["members"]) <= {"fast C=0.3", "fast C=1"} and f"   {fold['fold']}  {fold['documents'][0]}" in result.stdout
    # The command line computes what the library does with the card's candidates and measure.
    from pipeline.core.config import load_config
    from pipeline.learn.model import load_model
    from pipeline.learn.train import training_data

    loaded = load_model(model)
    _, data = training_data([coded], config=load_config(model / "config.yaml"), codebook=loaded.codebook)
    pool, measure, ensemble = selection_settings(loaded.card, loaded.config)
    library = cross_validate_selected(data, config=loaded.config, measure=measure, pool=pool, ensemble=ensemble)
    assert cv["micro_f1"] == pytest.approx(library["micro_f1"]) and cv["macro_f1"] == pytest.approx(library["macro_f1"])
    assert f"micro-F1 {library['micro_f1']:.3f}" in result.stdout


def test_evaluate_with_config_on_a_selected_model_evaluates_that_one_configuration(selected_model, tmp_path):
    from pipeline.core.config import load_config
    from pipeline.learn.cv import cross_validate
    from pipeline.learn.model import load_model
    from pipeline.learn.train import training_data

    coded, model = selected_model
    config = model / "config.yaml"  # the main member's configuration
    result = runner.invoke(app, ["evaluate", str(coded), "--model", str(model), "--config", str(config), "--json", str(tmp_path / "cv.json")])
    assert result.exit_code == 0, result.output
    cv = json.loads((tmp_path / "cv.json").read_text(encoding="utf-8"))
    assert "selection" not in cv and "evaluated" not in cv and cv["folds"] == 3
    assert "nested" not in result.stdout and "outer fold" not in result.stderr
    _, data = training_data([coded], config=load_config(config), codebook=load_model(model).codebook)
    assert cv["micro_f1"] == pytest.approx(cross_validate(data, config=load_config(config))["micro_f1"])
