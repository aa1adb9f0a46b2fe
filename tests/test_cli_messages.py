"""What the command line says once, and only where it applies (issue 23, smaller findings)."""

from __future__ import annotations

import json

import pytest
from conftest import REPO
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.text import segment as segmentation

FALLBACK = "spaCy pipeline 'de_core_news_lg' is not installed"
INTERVIEW = "I: Warum Frankreich?\n\nB: Wir wollten neue Kunden gewinnen. Das Geld fehlt uns aber.\n"


@pytest.fixture
def fresh_process(monkeypatch):
    """As in a new process: spaCy not loaded yet and its fallback not announced yet."""
    if segmentation._installed("de_core_news_lg"):
        pytest.skip("de_core_news_lg is installed: there is no fallback to announce")
    segmentation.load_spacy.cache_clear()
    monkeypatch.delenv(segmentation._WARNED_ENV, raising=False)
    yield
    segmentation.load_spacy.cache_clear()


def test_spacy_fallback_is_one_line_once_from_a_command_that_segments(tmp_path, fresh_process):
    inputs = tmp_path / "in"
    inputs.mkdir()
    for name in ("a", "b", "c"):
        (inputs / f"{name}.txt").write_text(INTERVIEW, encoding="utf-8")
    result = CliRunner().invoke(app, ["segment", str(inputs), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if "spaCy" in line or "de_core_news" in line]
    assert len(lines) == 1 and lines[0].startswith(f"autocode: warning: {FALLBACK}"), result.stderr


def _commands_that_do_not_segment(tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("id,text,codes\nu1,Wir wollten neue Kunden gewinnen.,MOT-MARKT\nu2,Das Geld fehlt.,HEM-FINANZEN\n", encoding="utf-8")
    b.write_text("id,text,codes\nu1,Wir wollten neue Kunden gewinnen.,MOT-MARKT\nu2,Das Geld fehlt.,\n", encoding="utf-8")
    table = tmp_path / "table.csv"
    table.write_text("unit,A,B\n1,x,x\n2,y,x\n3,y,y\n", encoding="utf-8")
    return {
        "agreement on units": ["agreement", str(a), str(b), "--json", str(tmp_path / "u.json"), "--bootstrap", "0"],
        "agreement --table": ["agreement", "--table", str(table), "--json", str(tmp_path / "t.json"), "--bootstrap", "0"],
        "export --format qdc": ["export", str(REPO / "configs" / "codebook.yaml"), "--format", "qdc", "--out", str(tmp_path / "c.qdc")],
        "--help of classify": ["classify", "--help"],
    }


@pytest.mark.parametrize("name", ["agreement on units", "agreement --table", "export --format qdc", "--help of classify"])
def test_commands_that_do_not_segment_say_nothing_about_spacy(tmp_path, fresh_process, name):
    result = CliRunner().invoke(app, _commands_that_do_not_segment(tmp_path)[name])
    assert result.exit_code == 0, result.output
    assert "spaCy" not in result.stderr and "de_core_news" not in result.stderr


@pytest.mark.slow
def test_overview_of_a_classify_output_says_nothing_about_spacy(sample_classified, tmp_path, fresh_process):
    _, _, out = sample_classified
    result = CliRunner().invoke(app, ["overview", str(out), "--out", str(tmp_path / "o.html")])
    assert result.exit_code == 0, result.output
    assert "spaCy" not in result.stderr


def test_suggest_warns_about_the_coders_once(tmp_path):
    from test_active import make_corpus

    made = make_corpus(tmp_path, second_coder="B")
    coded, pool, config = made["coded"], made["pool"], made["config"]
    result = CliRunner().invoke(app, ["suggest", str(coded), "--pool", str(pool), "--config", str(config), "--n", "2",
                                      "--out", str(tmp_path / "s.csv")])
    assert result.exit_code == 0, result.output
    assert result.stderr.count("the hand codes come from 2 coders (A: 8, B: 4); training on 'A'") == 1, result.stderr
    assert result.stderr.count("no --codebook given") == 1, result.stderr


def test_failures_csv_is_written_by_every_complete_run(tmp_path):
    """classify --help promises OUT/failures.csv: a header only when nothing failed."""
    from pathlib import Path

    from pipeline.run.batch import BatchResult, FileResult, write_batch_reports

    ok = BatchResult([FileResult(Path("a.txt"), "done", segments=3)])
    write_batch_reports(ok, tmp_path, ["MOT-MARKT"])
    assert (tmp_path / "failures.csv").read_text(encoding="utf-8") == "file,error\n"
    failed = BatchResult([FileResult(Path("b.txt"), "failed", error="b.txt: the file is empty")])
    write_batch_reports(failed, tmp_path, ["MOT-MARKT"])
    assert (tmp_path / "failures.csv").read_text(encoding="utf-8") == "file,error\nb.txt,b.txt: the file is empty\n"
    help_text = CliRunner().invoke(app, ["classify", "--help"]).stdout
    assert "failures.csv (always" in " ".join(help_text.split())


# --- issue 31, finding 6: messages that name what the command can do ----------------------


def test_a_model_folder_without_its_code_system_says_what_classify_can_do(tmp_path):
    """classify has no --codebook: the message names the missing file and what to do."""
    import shutil

    model = tmp_path / "model"
    shutil.copytree(REPO / "pipeline" / "defaults" / "model", model)
    (model / "codebook.yaml").unlink()
    (tmp_path / "in.txt").write_text(INTERVIEW, encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(tmp_path / "in.txt"), "--model", str(model), "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    message = " ".join(result.stderr.split())
    assert "--codebook" not in message, message
    assert f"{model}: codebook.yaml is missing" in message
    assert "Copy back the codebook.yaml" in message and "train the model again" in message


def test_suggest_out_folder_proposes_a_csv_name(tmp_path):
    from test_active import make_corpus

    made = make_corpus(tmp_path)
    folder = tmp_path / "next"
    folder.mkdir()
    result = CliRunner().invoke(app, ["suggest", str(made["coded"]), "--pool", str(made["pool"]), "--out", str(folder)])
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"--out {folder / 'suggestions.csv'}" in message and "results.json" not in message, message
    result = CliRunner().invoke(app, ["suggest", str(made["coded"]), "--pool", str(made["pool"]), "--out", str(folder), "--format", "qdpx"])
    assert f"--out {folder / 'suggestions.qdpx'}" in " ".join(result.stderr.split())


def test_failures_csv_of_a_classify_run_ends_with_a_newline(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "leer.txt").write_text("", encoding="utf-8")
    (tmp_path / "in" / "ok.txt").write_text(INTERVIEW, encoding="utf-8")
    result = CliRunner().invoke(app, ["classify", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 1
    data = (tmp_path / "out" / "failures.csv").read_bytes()
    assert data.endswith(b"the transcript again.\n") and data.count(b"\n") == 2


def test_a_latin1_transcript_is_read_with_a_warning_that_names_the_encoding(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "alt.txt").write_bytes("I: Warum?\n\nB: Die Förderung für Übersetzungen fehlt.\n".encode("latin-1"))
    (tmp_path / "in" / "neu.txt").write_text(INTERVIEW, encoding="utf-8")
    result = CliRunner().invoke(app, ["segment", str(tmp_path / "in"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    message = " ".join(result.stderr.split())
    assert f"{tmp_path / 'in' / 'alt.txt'}: not UTF-8; read as Windows-1252 (Latin-1)" in message, message
    assert "neu.txt: not UTF-8" not in message
    rows = [json.loads(line) for line in (tmp_path / "out" / "alt.jsonl").read_text(encoding="utf-8").splitlines()]
    assert any("Förderung für Übersetzungen" in r["text"] for r in rows)
