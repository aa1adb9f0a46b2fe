"""Training on several coders: train --coder A --coder B --combine each|union|majority."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.cli._app import Combine
from pipeline.core.codebook import Codebook
from pipeline.core.config import config_from_dict
from pipeline.learn.fit import COMBINE_RULES, build_training_set, combined_labels
from pipeline.text.codings import read_hand_codes

CONFIG = {"embedder": {"name": "tfidf"}, "classifier": {"C": 20}, "training": {"min_examples": 2, "cv_folds": 2}}

# Three segments, two codes; A coded s0-s2, B coded s1-s2 (s0 is A's alone).
A = np.array([[1, 0], [1, 0], [0, 1]], dtype=bool)
B = np.array([[0, 0], [0, 1], [0, 1]], dtype=bool)
COVER = {"A": np.array([True, True, True]), "B": np.array([False, True, True])}


def test_each_gives_every_coder_its_own_rows_weighted_so_that_a_segment_counts_once():
    picked, Y, w, by_coder = combined_labels({"A": A, "B": B}, COVER, "each")
    assert picked.tolist() == [0, 1, 2, 1, 2]
    assert Y.tolist() == [[1, 0], [1, 0], [0, 1], [0, 1], [0, 1]]
    assert w.tolist() == [1.0, 0.5, 0.5, 0.5, 0.5]
    # Weight per segment sums to 1: each segment counts once, each of its coders equally.
    assert np.bincount(picked, weights=w).tolist() == [1.0, 1.0, 1.0]
    assert by_coder["A"][0].tolist() == [0, 1, 2] and by_coder["B"][0].tolist() == [3, 4]
    assert (by_coder["B"][1] == B[1:]).all()


def test_union_and_majority():
    _, union, w, _ = combined_labels({"A": A, "B": B}, COVER, "union")
    assert w is None
    assert union.tolist() == [[1, 0], [1, 1], [0, 1]]
    _, majority, _, by_coder = combined_labels({"A": A, "B": B}, COVER, "majority")
    # s0: coded by A alone, A's codes; s1: 1 of 2 for each code is a tie, absent; s2: both agree.
    assert majority.tolist() == [[1, 0], [0, 0], [0, 1]]
    assert by_coder["B"][0].tolist() == [1, 2]


def test_majority_of_three_needs_two():
    Ys = {"A": np.array([[1]], dtype=bool), "B": np.array([[1]], dtype=bool), "C": np.array([[0]], dtype=bool)}
    cover = {c: np.array([True]) for c in Ys}
    assert combined_labels(Ys, cover, "majority")[1].tolist() == [[True]]
    Ys["B"] = np.array([[0]], dtype=bool)
    assert combined_labels(Ys, cover, "majority")[1].tolist() == [[False]]


def test_the_cli_offers_exactly_the_library_rules():
    import inspect

    from pipeline.cli.train import train as train_command
    from pipeline.learn.fit import DEFAULT_COMBINE

    assert [c.value for c in Combine] == list(COMBINE_RULES)
    assert inspect.signature(train_command).parameters["combine"].default.value == DEFAULT_COMBINE
    help_text = " ".join(CliRunner().invoke(app, ["train", "--help"]).stdout.split())
    assert "a tie counts as absent, so with two coders a code needs both" in help_text


UNITS = [  # id, text, A's code, B's code
    ("u1", "Wir wollten neue Kunden in Frankreich gewinnen.", "MOT-MARKT", "MOT-MARKT"),
    ("u2", "Der Vertrieb in Lyon soll neue Kunden bringen.", "MOT-MARKT", "MOT-MARKT"),
    ("u3", "Neue Kunden im Ausland sind unser Ziel.", "MOT-MARKT", ""),
    ("u4", "Das Geld für die Reisen fehlt einfach.", "HEM-FINANZEN", "HEM-FINANZEN"),
    ("u5", "Die Übersetzungen kosten uns viel Geld.", "HEM-FINANZEN", "HEM-FINANZEN"),
    ("u6", "Uns fehlt das Geld für Personal.", "", "HEM-FINANZEN"),
    ("u7", "Das Wetter war an dem Tag schön.", "", ""),
    ("u8", "Dann haben wir zu Mittag gegessen.", "", ""),
]


@pytest.fixture
def two_coders(tmp_path):
    path = tmp_path / "units.csv"
    rows = [f"{i},{t},{a},A" for i, t, a, _ in UNITS] + [f"{i},{t},{b},B" for i, t, _, b in UNITS]
    path.write_text("id,text,codes,coder\n" + "\n".join(rows) + "\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps(CONFIG), encoding="utf-8")
    return path, config


def test_build_training_set_labels_by_rule(two_coders):
    path, _ = two_coders
    book = Codebook.from_ids(["HEM-FINANZEN", "MOT-MARKT"])
    hand = read_hand_codes([path], codebook=book)
    config = config_from_dict(CONFIG)
    union = build_training_set(hand, codebook=book, config=config, coder=["A", "B"], combine="union")
    assert union.coders == ("A", "B") and union.combine == "union" and union.coder == "A+B"
    assert union.Y.sum(axis=0).tolist() == [3, 3]  # u4-u6 finance, u1-u3 market
    majority = build_training_set(hand, codebook=book, config=config, coder=["A", "B"], combine="majority")
    assert majority.Y.sum(axis=0).tolist() == [2, 2]  # the ties u3 and u6 drop out
    each = build_training_set(hand, codebook=book, config=config, coder=["A", "B"], combine="each")
    assert len(each.segments) == 16 and each.weights.tolist() == [0.5] * 16
    single = build_training_set(hand, codebook=book, config=config, coder="B")
    assert single.weights is None and single.combine == "" and single.Y.sum(axis=0).tolist() == [3, 2]


def test_unknown_coder_is_named(two_coders):
    path, _ = two_coders
    book = Codebook.from_ids(["HEM-FINANZEN", "MOT-MARKT"])
    from pipeline.core.errors import CodingError

    with pytest.raises(CodingError, match=r"coder 'C' has no codings; coders in the data: A, B"):
        build_training_set(read_hand_codes([path], codebook=book), codebook=book, config=config_from_dict(CONFIG), coder=["A", "C"])


@pytest.mark.parametrize("rule", list(COMBINE_RULES))
def test_train_on_two_coders_names_them_and_the_rule_in_the_model_card(two_coders, tmp_path, rule):
    path, config = two_coders
    out = tmp_path / f"model-{rule}"
    result = CliRunner().invoke(app, ["train", str(path), "--config", str(config), "--coder", "A", "--coder", "B",
                                      "--combine", rule, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert f"coders A, B combined by '{rule}'" in result.stderr
    assert "against coder 'A'" in result.stderr and "against coder 'B'" in result.stderr
    card = json.loads((out / "model.json").read_text(encoding="utf-8"))
    training = card["training"]
    assert training["coders"] == ["A", "B"] and training["combine"] == rule
    assert training["combine_rule"] == COMBINE_RULES[rule]
    assert training["segments"] == 8
    assert set(card["cv"]["per_coder"]) == {"A", "B"}
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert f"coders combined by the rule '{rule}' (A, B)" in readme
    assert "| coder | segments | micro-F1 | macro-F1 |" in readme
    assert "2 coders" not in result.stderr  # no "training on 'A', who coded most" warning


def test_evaluate_reports_each_coder_and_the_combination(two_coders, tmp_path):
    path, config = two_coders
    figures = tmp_path / "cv.json"
    book = tmp_path / "book.yaml"
    book.write_text("name: t\ncodes:\n  - id: MOT-MARKT\n    name: Markt\n  - id: HEM-FINANZEN\n    name: Finanzen\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["evaluate", str(path), "--config", str(config), "--codebook", str(book),
                                      "--coder", "A", "--coder", "B", "--combine", "union", "--json", str(figures)])
    assert result.exit_code == 0, result.output
    cv = json.loads(figures.read_text(encoding="utf-8"))
    assert cv["combine"] == "union" and set(cv["per_coder"]) == {"A", "B"}
    assert cv["per_coder"]["A"]["segments"] == 8 and cv["per_coder"]["B"]["segments"] == 8
    assert "against each coder's own codes" in result.stdout
    for coder in ("A", "B"):
        line = next(x for x in result.stdout.splitlines() if x.split()[:2] == [coder, "8"])
        assert f"{cv['per_coder'][coder]['micro_f1']:.3f}" in line
    # The combination and the coders differ where the coders do: not the same figures relabelled.
    assert (cv["micro_f1"], cv["per_coder"]["A"]["micro_f1"], cv["per_coder"]["B"]["micro_f1"]) != (cv["micro_f1"],) * 3
