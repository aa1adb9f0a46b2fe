"""The command line: help, exit codes, stderr messages, outputs on disk."""

import csv
import json

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

runner = CliRunner()

INTERVIEW = (
    "I: Warum gerade Frankreich? #00:00:44-0#\n\n"
    "B: Wir wollten neue Kunden in Frankreich gewinnen. Das Geld für die Reisen fehlt uns aber. #00:01:20-3#\n\n"
    "I: Mhm.\n\n"
    "B: Das Wetter war an dem Tag schön (lacht). #00:01:41-9#\n"
)

UNITS = [
    ("u1", "Wir wollten neue Kunden in Frankreich gewinnen.", ["MOT-MARKT"]),
    ("u2", "Der Vertrieb in Lyon soll neue Kunden bringen.", ["MOT-MARKT"]),
    ("u3", "Das Geld für die Reisen fehlt einfach.", ["HEM-FINANZEN"]),
    ("u4", "Die Übersetzungen und Reisen kosten uns viel Geld.", ["HEM-FINANZEN"]),
    ("u5", "Das Wetter war an dem Tag schön.", []),
    ("u6", "Dann haben wir zu Mittag gegessen.", []),
]


def test_help_lists_commands():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("segment", "train", "classify", "evaluate", "agreement"):
        assert command in result.stdout


def test_segment_writes_jsonl(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "int1.txt").write_text(INTERVIEW, encoding="utf-8")
    result = runner.invoke(app, ["segment", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out" / "int1.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [r["role"] for r in records] == ["interviewer", "respondent", "respondent", "interviewer", "respondent"]
    for r in records:
        assert INTERVIEW[r["start"] : r["end"]].strip() == INTERVIEW[r["start"] : r["end"]]
    assert records[4]["text"] == "Das Wetter war an dem Tag schön."


def test_missing_input_is_exit_2_with_message(tmp_path):
    result = runner.invoke(app, ["segment", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert "nope.txt: no such file or folder" in result.stderr


def test_usage_error_is_exit_2():
    result = runner.invoke(app, ["classify"])
    assert result.exit_code == 2


def train_units(tmp_path, *extra):
    coded = tmp_path / "coded" / "units.jsonl"
    coded.parent.mkdir()
    coded.write_text("".join(json.dumps({"id": i, "text": t, "codes": c, "coder": "A"}) + "\n" for i, t, c in UNITS), encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text("embedder: {name: tfidf}\nclassifier: {C: 20}\ntraining: {min_examples: 2, cv_folds: 2}\n", encoding="utf-8")
    return runner.invoke(app, ["train", str(coded), "--out", str(tmp_path / "model"), "--config", str(config), "--no-cv", *extra])


def test_train_without_codebook_notes_codes(tmp_path):
    result = train_units(tmp_path)
    assert result.exit_code == 0, result.stderr
    assert "no --codebook given: using the 2 codes found in the hand codes (HEM-FINANZEN, MOT-MARKT)" in result.stderr
    meta = json.loads((tmp_path / "model" / "model.json").read_text())
    assert meta["codebook"]["codes"] == ["HEM-FINANZEN", "MOT-MARKT"]
    assert (tmp_path / "model" / "README.md").is_file()


def test_train_with_unknown_code_fails_clearly(tmp_path, repo):
    result = train_units(tmp_path, "--codebook", str(repo / "configs" / "codebook.yaml"))
    assert result.exit_code == 0, result.stderr  # both codes exist in the default code system
    bad = tmp_path / "coded" / "units.jsonl"
    bad.write_text(bad.read_text(encoding="utf-8").replace("HEM-FINANZEN", "HEM-FINANZ", 1), encoding="utf-8")
    result = runner.invoke(app, ["train", str(bad), "--out", str(tmp_path / "m2"), "--codebook", str(repo / "configs" / "codebook.yaml")])
    assert result.exit_code == 1
    assert "unknown code 'HEM-FINANZ' (closest: 'HEM-FINANZEN')" in result.stderr
    assert not (tmp_path / "m2").exists()


def test_classify_outputs_summary_failures_and_resume(tmp_path):
    assert train_units(tmp_path).exit_code == 0
    inputs = tmp_path / "in"
    inputs.mkdir()
    (inputs / "a.txt").write_text(INTERVIEW, encoding="utf-8")
    (inputs / "b.txt").write_bytes(b"")
    out = tmp_path / "out"
    args = ["classify", str(inputs), "--model", str(tmp_path / "model"), "--out", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "b.txt: the file is empty" in result.stderr
    records = [json.loads(line) for line in (out / "a.jsonl").read_text(encoding="utf-8").splitlines()]
    for key in ("id", "transcript", "start", "end", "speaker", "text", "codes", "scores"):
        assert key in records[0]
    coded = {r["text"]: r["codes"] for r in records if r["codable"]}
    assert coded["Wir wollten neue Kunden in Frankreich gewinnen."] == ["MOT-MARKT"]
    assert coded["Das Wetter war an dem Tag schön."] == []
    with open(out / "summary.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["transcript"] == "a" and int(rows[0]["MOT-MARKT"]) >= 1
    with open(out / "failures.csv", encoding="utf-8") as fh:
        assert [r["file"].endswith("b.txt") for r in csv.DictReader(fh)] == [True]
    before = (out / "a.jsonl").stat().st_mtime_ns
    (inputs / "b.txt").unlink()
    again = runner.invoke(app, args)
    assert again.exit_code == 0
    assert "1 up to date, skipped" in again.stderr
    assert (out / "a.jsonl").stat().st_mtime_ns == before
    # As classify --help says: failures.csv always written, header only when nothing failed.
    assert (out / "failures.csv").read_text(encoding="utf-8") == "file,error\n"


def test_classify_refuses_input_folder_as_output(tmp_path):
    assert train_units(tmp_path).exit_code == 0
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(INTERVIEW, encoding="utf-8")
    result = runner.invoke(app, ["classify", str(tmp_path / "in"), "--model", str(tmp_path / "model"), "--out", str(tmp_path / "in")])
    assert result.exit_code == 2
    assert "is the folder of the input" in result.stderr
    assert sorted(p.name for p in (tmp_path / "in").iterdir()) == ["a.txt"]


def test_classify_with_missing_model(tmp_path):
    result = runner.invoke(app, ["classify", str(tmp_path), "--model", str(tmp_path / "nomodel"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nomodel: no such model folder" in result.stderr
    (tmp_path / "notamodel").mkdir()
    result = runner.invoke(app, ["classify", str(tmp_path), "--model", str(tmp_path / "notamodel"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "holds no model.json" in result.stderr


def test_bad_config_names_option(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("classifier: {Cee: 1}\n", encoding="utf-8")
    result = runner.invoke(app, ["segment", str(tmp_path), "--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code == 1
    assert "unknown option 'Cee'" in result.stderr


@pytest.mark.slow
def test_evaluate_on_sample_corpus_subset(repo, tmp_path):
    """Cross-validation on the sample corpus with the real default embedder."""
    result = runner.invoke(
        app, ["evaluate", str(repo / "corpus" / "codings.jsonl"), "--model", str(repo / "models" / "default"), "--coder", "A", "--json", str(tmp_path / "cv.json")]
    )
    assert result.exit_code == 0, result.stderr
    cv = json.loads((tmp_path / "cv.json").read_text())
    assert cv["folds"] == 5 and len(cv["per_code"]) == 14
    assert 0.3 < cv["macro_f1"] <= 1 and 0.3 < cv["micro_f1"] <= 1
    assert "macro-F1" in result.stdout
