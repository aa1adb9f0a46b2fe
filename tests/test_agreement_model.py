"""Model against humans that cannot flatter: figures on training documents are in-sample."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import pipeline.cli  # noqa: F401  (registers the commands)
from pipeline.cli._app import app

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "corpus"
TRAIN_DOCS = ("int01_clustermanagement", "int02_partnercluster_frankreich", "int04_zulieferer_gross")

TEXTS = {"d1": "Wir wollten neue Kunden gewinnen. Die Kosten waren hoch.",
         "d2": "Der Markt ist groß. Die Bürokratie bremst uns.",
         "d3": "Wir lernen voneinander. Die Sprache ist eine Hürde."}


def fake_classify_output(tmp_path: Path, trained_on: tuple[str, ...]) -> tuple[Path, Path]:
    """A model folder whose card lists ``trained_on``, a classify output folder, and coder A's
    span file that agrees with the model on every sentence but one."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.json").write_text(json.dumps({
        "name": "m1", "codebook": {"name": "test", "hash": "abc", "codes": ["MOT", "HEM"]},
        "training": {"document_sha256": {d: hashlib.sha256(TEXTS[d].encode()).hexdigest() for d in trained_on}},
    }), encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    texts = tmp_path / "transcripts"
    texts.mkdir()
    spans = []
    for doc, text in TEXTS.items():
        (texts / f"{doc}.txt").write_text(text, encoding="utf-8")
        first = text.index(".") + 1
        segments = [(0, first), (first + 1, len(text))]
        records = []
        for k, (s, e) in enumerate(segments):
            code = "MOT" if k == 0 else "HEM"
            model_code = "MOT" if (doc, k) == ("d3", 1) else code  # one disagreement, out of sample
            records.append({"id": f"{doc}:{k:04d}", "transcript": doc, "start": s, "end": e, "speaker": "",
                            "role": "respondent", "codable": True, "text": text[s:e], "codes": [model_code],
                            "scores": {}, "model": "m1"})
            spans.append({"document": doc, "start": s, "end": e, "code": code, "coder": "A"})
        (out / f"{doc}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
        (out / f"{doc}.meta.json").write_text(json.dumps({"model": "m1", "model_dir": str(model),
                                                          "source": str(texts / f"{doc}.txt")}), encoding="utf-8")
    coded = tmp_path / "codings.jsonl"
    coded.write_text("".join(json.dumps(s) + "\n" for s in spans), encoding="utf-8")
    return coded, out


def test_training_documents_are_reported_in_sample(tmp_path):
    coded, out = fake_classify_output(tmp_path, ("d1", "d2"))
    fig, report = tmp_path / "f.json", tmp_path / "report"
    result = CliRunner().invoke(app, ["agreement", str(coded), str(out), "--json", str(fig), "--report", str(report),
                                      "--bootstrap", "0", "--lang", "en"])
    assert result.exit_code == 0, result.output
    data = json.loads(fig.read_text(encoding="utf-8"))
    assert data["model_training_documents"] == {"model:m1": ["d1", "d2"]}
    samples = {c["sample"]: c for c in data["model_vs_human"]}
    assert samples["in-sample"]["documents"] == ["d1", "d2"]
    assert samples["out-of-sample"]["documents"] == ["d3"]
    assert samples["in-sample"]["percent_agreement"] == 1.0
    # d3: 2 segments × 2 codes; the model swaps HEM for MOT on one segment: 2 of 4 decisions agree.
    assert samples["out-of-sample"]["percent_agreement"] == pytest.approx(2 / 4)
    assert "trained on 2 of the compared documents" in result.output
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "in-sample (training documents – flatters the model)" in html
    assert "Training documents: d1, d2" in html
    # The disagreement list quotes the transcript itself, located by offsets.
    rows = (report / "disagreements.csv").read_text(encoding="utf-8").splitlines()
    assert any(r.startswith("d3:0001,d3,") and r.endswith("Die Sprache ist eine Hürde.") for r in rows)


def test_all_documents_in_sample_says_so_and_points_to_evaluate(tmp_path):
    coded, out = fake_classify_output(tmp_path, tuple(TEXTS))
    fig, report = tmp_path / "f.json", tmp_path / "report"
    result = CliRunner().invoke(app, ["agreement", str(coded), str(out), "--json", str(fig), "--report", str(report),
                                      "--bootstrap", "0"])
    assert result.exit_code == 0, result.output
    assert "All 3 compared documents are training documents" in result.output
    assert "autocode evaluate" in result.output
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "data-note='all_in_sample'" in html and "`autocode evaluate`" in html
    assert {c["sample"] for c in json.loads(fig.read_text())["model_vs_human"]} == {"in-sample"}


@pytest.mark.slow
def test_model_trained_on_three_sample_interviews_against_coder_a_on_eight(tmp_path):
    """Train on three sample interviews (coder A), classify all eight, compare with A."""
    records = [json.loads(line) for line in (CORPUS / "codings.jsonl").read_text(encoding="utf-8").splitlines()]
    train = tmp_path / "train3.jsonl"
    train.write_text("".join(json.dumps(r) + "\n" for r in records if r["coder"] == "A" and r["document"] in TRAIN_DOCS),
                     encoding="utf-8")
    coder_a = tmp_path / "codings_a.jsonl"
    coder_a.write_text("".join(json.dumps(r) + "\n" for r in records if r["coder"] == "A"), encoding="utf-8")
    runner = CliRunner()
    model, out = tmp_path / "model", tmp_path / "out"
    done = runner.invoke(app, ["train", str(train), "--texts", str(CORPUS / "transcripts"), "--out", str(model),
                               "--no-cv"])
    assert done.exit_code == 0, done.output
    card = json.loads((model / "model.json").read_text(encoding="utf-8"))
    assert sorted(card["training"]["document_sha256"]) == list(TRAIN_DOCS)
    done = runner.invoke(app, ["classify", str(CORPUS / "transcripts"), "--model", str(model), "--out", str(out)])
    assert done.exit_code == 0, done.output
    fig, report = tmp_path / "f.json", tmp_path / "report"
    done = runner.invoke(app, ["agreement", str(coder_a), str(out), "--texts", str(CORPUS / "transcripts"),
                               "--json", str(fig), "--report", str(report), "--bootstrap", "50"])
    assert done.exit_code == 0, done.output
    data = json.loads(fig.read_text(encoding="utf-8"))
    (model_coder, trained), = data["model_training_documents"].items()
    assert trained == list(TRAIN_DOCS)
    samples = {c["sample"]: c for c in data["model_vs_human"]}
    assert samples["in-sample"]["documents"] == list(TRAIN_DOCS)
    assert len(samples["out-of-sample"]["documents"]) == 5
    assert not set(samples["out-of-sample"]["documents"]) & set(TRAIN_DOCS)
    html = (report / "report.html").read_text(encoding="utf-8")
    # The German report names the samples in German.
    assert "Trainingsdokumente (schmeichelt dem Modell)" in html and "nicht trainierte Dokumente" in html
