"""Few codes (issue 30, finding 3): six small unit files whose codes a keyword gives away
(tests/data/few_codes) are coded almost perfectly by the shipped training procedure, which
once chose a poor configuration on 80 segments when it still selected one; units numbered
from 1 in every file are scored as their own."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.codebook import Codebook
from pipeline.core.config import config_from_dict
from pipeline.core.types import Segment
from pipeline.learn.fit import TrainingSet
from pipeline.learn.train import train_on
from pipeline.research.evaluate import predict_matrix

runner = CliRunner()


def _files(repo):
    files = sorted((repo / "tests" / "data" / "few_codes").glob("*.jsonl"))
    assert len(files) == 6
    return files


def test_the_keyword_files_are_six_documents_of_twenty_units_numbered_from_one(repo):
    for path in _files(repo):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        assert [r["id"] for r in rows] == list(range(1, 21)), path.name
        assert sum(not r["codes"] for r in rows) >= 5  # segments that carry no code


def test_held_out_units_with_the_same_id_in_two_documents_get_their_own_documents_codes():
    # Two documents whose units are numbered 1..4 alike; a code that a keyword gives away sits
    # on different units in each, so scoring one document's codes against the other's shows.
    texts = {"a": ["Das Geld fehlte.", "Wir trafen uns.", "Das Geld kam spät.", "Es regnete."],
             "b": ["Wir fuhren hin.", "Das Geld reichte nicht.", "Es war kalt.", "Ohne Geld ging nichts."]}
    segments, rows = [], []
    for doc, lines in texts.items():
        for k, text in enumerate(lines, 1):
            segments.append(Segment(id=str(k), transcript=doc, start=0, end=len(text), speaker="", text=text, role="unit"))
            rows.append(["Geld" in text])
    data = TrainingSet(tuple(segments), np.array(rows, dtype=bool), np.array([s.transcript for s in segments]), Codebook.from_ids(["GELD"]), "A")
    config = config_from_dict({"embedder": {"name": "tfidf"}, "features": {"lexical": False, "prototypes": 0.0, "center": 0.0},
                               "classifier": {"C": 10.0}, "training": {"codebook_examples": 0.0, "threshold_shrink": 0.0, "min_examples": 1}})
    model = train_on(data, config=config)
    by_doc = {doc: [r["codes"] for r in model.code_segments([s for s in segments if s.transcript == doc])] for doc in texts}
    expected = np.array([[bool(codes)] for doc in texts for codes in by_doc[doc]])
    assert expected[:, 0].tolist() != expected[4:, 0].tolist() + expected[:4, 0].tolist()  # the documents differ
    np.testing.assert_array_equal(predict_matrix(model, data), expected)


@pytest.mark.slow
def test_evaluate_on_the_keyword_files_scores_the_shipped_procedure_at_least_095(repo, tmp_path):
    result = runner.invoke(app, ["evaluate", *map(str, _files(repo)), "--json", str(tmp_path / "cv.json")])
    assert result.exit_code == 0, result.output
    cv = json.loads((tmp_path / "cv.json").read_text(encoding="utf-8"))
    assert cv["fold_rule"] == "5 folds grouped by document" and cv["segments"] == 120
    assert cv["micro_f1"] >= 0.95 and cv["macro_f1"] >= 0.95, result.stdout
    coded = [c for c, r in cv["per_code"].items() if r["support"]]
    assert sorted(coded) == ["HEM-FINANZEN", "HEM-SPRACHE-KULTUR", "MOT-EUROPA", "MOT-MARKT"]

