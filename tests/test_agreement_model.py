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


def _coders_unit_files(out: Path, root: Path, *, merge: int = 1) -> tuple[Path, Path, list[dict]]:
    """Two coders' spreadsheets of the model's own segments, numbered 1, 2, 3 … per document
    (as a researcher numbers rows), with ``document`` and ``text``. A gives the model's
    codes; B drops every fifth unit's codes. ``merge`` > 1 joins that many segments into
    one unit, so that the coders' units are not the model's segments."""
    segments = [json.loads(line) for path in sorted(out.glob("*.jsonl"))
                for line in path.read_text(encoding="utf-8").splitlines()]
    segments = [s for s in segments if s["codable"]]
    rows = {"A": ["document;id;text;codes"], "B": ["document;id;text;codes"]}
    number: dict[str, int] = {}
    for k in range(0, len(segments), merge):
        group = [s for s in segments[k:k + merge] if s["transcript"] == segments[k]["transcript"]]
        doc = group[0]["transcript"]
        number[doc] = number.get(doc, 0) + 1
        text = " ".join(s["text"] for s in group).replace('"', "'")
        codes = sorted({c for s in group for c in s["codes"]})
        for coder in ("A", "B"):
            given = [] if coder == "B" and number[doc] % 5 == 0 else codes
            rows[coder].append(f'{doc};{number[doc]};"{text}";{";".join(given) and chr(34) + ";".join(given) + chr(34)}')
    files = []
    for coder, lines in rows.items():
        path = root / f"{coder}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        files.append(path)
    return files[0], files[1], segments


@pytest.mark.slow
def test_unit_files_numbered_from_one_meet_the_model_by_document_and_text(sample_classified, tmp_path):
    """Issue 31, finding 1: coders' ids 1, 2, 3 … against the model's ``doc:0000`` ids. The
    model's units are matched by document and text; it is compared, and the humans' figures
    are those of the humans alone, interval included."""
    _, _, out = sample_classified
    a, b, segments = _coders_unit_files(out, tmp_path)
    runner = CliRunner()
    fig, report = tmp_path / "a.json", tmp_path / "rep"
    done = runner.invoke(app, ["agreement", str(a), str(b), str(out), "--report", str(report), "--json", str(fig),
                               "--lang", "en", "--bootstrap", "200"])
    assert done.exit_code == 0, done.output
    assert f"{len(segments)} units, 3 coders" in done.stderr  # not the model's segments once more
    assert f"{len(segments)} units coded by two or more coders" in done.stderr
    data = json.loads(fig.read_text(encoding="utf-8"))
    comparisons = {c["human"]: c for c in data["model_vs_human"]}
    assert set(comparisons) == {"A", "B"}
    assert comparisons["A"]["percent_agreement"] == 1.0  # A gave the model's codes, unit for unit
    assert comparisons["B"]["percent_agreement"] < 1.0
    pooled = data["pooled_with_model"]
    assert pooled["krippendorff_alpha"] != pytest.approx(data["krippendorff_alpha"])
    html = (report / "report.html").read_text(encoding="utf-8")
    assert "model:default – A, in-sample" in html and "model:default – B, in-sample" in html

    humans = tmp_path / "humans.json"
    done = runner.invoke(app, ["agreement", str(a), str(b), "--json", str(humans), "--bootstrap", "200"])
    assert done.exit_code == 0, done.output
    alone = json.loads(humans.read_text(encoding="utf-8"))
    assert data["krippendorff_alpha"] == alone["krippendorff_alpha"]
    assert data["ci"] == alone["ci"]
    assert data["n_units"] == alone["n_units"]


@pytest.mark.slow
def test_a_model_whose_units_match_none_of_the_coders_stops_the_command(sample_classified, tmp_path):
    """The coders' units are two segments each: neither id nor text meets the model's. The
    command stops, shows both id forms and says what to do; nothing is written."""
    _, _, out = sample_classified
    a, b, segments = _coders_unit_files(out, tmp_path, merge=2)
    fig, report = tmp_path / "a.json", tmp_path / "rep"
    done = CliRunner().invoke(app, ["agreement", str(a), str(b), str(out), "--report", str(report), "--json", str(fig),
                                    "--bootstrap", "0"])
    assert done.exit_code == 1, done.output
    assert "Traceback" not in done.output
    first = segments[0]
    assert f"{first['transcript']}:1" in done.stderr and first["id"] in done.stderr
    assert "model:default" in done.stderr and "autocode classify" in done.stderr
    assert not fig.exists() and not report.exists()
