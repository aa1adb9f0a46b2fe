"""Every command that writes checks its output path before any work: exit 2, one line, no traceback."""

from __future__ import annotations

import json

import pytest
import typer
from conftest import REPO
from typer.testing import CliRunner

from pipeline.cli import app

CORPUS = REPO / "corpus"
INTERVIEW = "I: Warum Frankreich?\n\nB: Wir wollten neue Kunden gewinnen. Das Geld fehlt uns aber.\n"

#: Every command that writes, with the option that names where and what it writes there
#: (``file`` or ``folder``); ``{in}`` ... stand for inputs made by the ``inputs`` fixture.
WRITERS = [
    ("segment", ["segment", "{transcripts}"], "--out", "folder", ""),
    ("classify", ["classify", "{transcripts}"], "--out", "folder", ""),
    ("train", ["train", "{units}", "--no-cv"], "--out", "folder", ""),
    ("evaluate --json", ["evaluate", "{units}"], "--json", "file", ".json"),
    ("agreement --report", ["agreement", "{units}", "{units_b}"], "--report", "folder", ""),
    ("agreement --json", ["agreement", "{units}", "{units_b}"], "--json", "file", ".json"),
    ("overview --out", ["overview", "{classified}"], "--out", "file", ".html"),
    ("suggest --out csv", ["suggest", "{units}", "--pool", "{transcripts}"], "--out", "file", ".csv"),
    ("suggest --out qdpx", ["suggest", "{units}", "--pool", "{transcripts}", "--format", "qdpx"], "--out", "file", ".qdpx"),
    ("import", ["import", "{project}"], "--out", "folder", ""),
    ("export qdpx", ["export", "{classified}"], "--out", "file", ".qdpx"),
    ("export qdc", ["export", str(REPO / "configs" / "codebook.yaml"), "--format", "qdc"], "--out", "file", ".qdc"),
    ("benchmark manifesto", ["benchmark", "manifesto", "--data", "{transcripts}"], "--out", "folder", ""),
    ("benchmark active", ["benchmark", "active", "--corpus", str(CORPUS)], "--out", "folder", ""),
    ("benchmark transfer", ["benchmark", "transfer", "--corpus", str(CORPUS)], "--out", "folder", ""),
    ("benchmark germeval", ["benchmark", "germeval", "--data", "{transcripts}"], "--out", "folder", ""),
    ("review --export", ["review", "{tmp}/review-project", "--texts", "{transcripts}"], "--export", "file", ".jsonl"),
    ("review --audit", ["review", "{tmp}/review-project", "--texts", "{transcripts}"], "--audit", "file", ".csv"),
    ("benchmark review", ["benchmark", "review", "--corpus", str(CORPUS)], "--out", "folder", ""),
    ("benchmark review-speed", ["benchmark", "review-speed", "--corpus", str(CORPUS)], "--out", "folder", ""),
    ("benchmark variants", ["benchmark", "variants", "--corpus", str(CORPUS)], "--out", "file", ".json"),
]
#: Commands that write nothing but stdout/stderr.
READ_ONLY: set[str] = set()


@pytest.fixture
def inputs(tmp_path):
    """Small, valid inputs for every command (the check must refuse before reading them)."""
    transcripts = tmp_path / "in"
    transcripts.mkdir()
    (transcripts / "int1.txt").write_text(INTERVIEW, encoding="utf-8")
    units = tmp_path / "a.csv"
    units.write_text("id,text,codes\nu1,Wir wollten neue Kunden gewinnen.,MOT-MARKT\nu2,Das Geld fehlt.,HEM-FINANZEN\n", encoding="utf-8")
    units_b = tmp_path / "b.csv"
    units_b.write_text("id,text,codes\nu1,Wir wollten neue Kunden gewinnen.,MOT-MARKT\nu2,Das Geld fehlt.,\n", encoding="utf-8")
    classified = tmp_path / "classified"
    classified.mkdir()
    (classified / "int1.jsonl").write_text(json.dumps({"id": "int1:0001", "transcript": "int1", "start": 23, "end": 57,
                                                       "codes": [], "scores": {}, "model": "default"}) + "\n", encoding="utf-8")
    (classified / "int1.meta.json").write_text(json.dumps({"source": str(transcripts / "int1.txt"), "model": "default"}), encoding="utf-8")
    project = tmp_path / "project.qdpx"
    project.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    a_file = tmp_path / "a_file.txt"
    a_file.write_text("keep me\n", encoding="utf-8")
    folder = tmp_path / "existing_folder"
    folder.mkdir()
    (folder / "keep.txt").write_text("keep me\n", encoding="utf-8")
    return {"transcripts": transcripts, "units": units, "units_b": units_b, "classified": classified, "project": project,
            "a_file": a_file, "folder": folder, "tmp": tmp_path}


def _cases():
    for name, args, option, kind, suffix in WRITERS:
        if kind == "folder":
            yield pytest.param(args, option, "{a_file}", "is a file, but a folder is written there", id=f"{name}-file-for-folder")
        else:
            yield pytest.param(args, option, "{folder}", "is a folder, but a file is written there", id=f"{name}-folder-for-file")
        # Below a file: fails for root too (chmod-based unwritable folders do not).
        yield pytest.param(args, option, "{a_file}/sub/out" + suffix, "is a file, not a folder", id=f"{name}-below-a-file")
        yield pytest.param(args, option, "{a_file}/out" + suffix, "is a file, not a folder", id=f"{name}-in-a-file")


@pytest.mark.parametrize("args, option, target, expected", list(_cases()))
def test_writing_command_refuses_an_unusable_output_path_before_any_work(inputs, args, option, target, expected):
    fill = {k: str(v) for k, v in inputs.items()}
    argv = [a.format(**fill) for a in args] + [option, target.format(**fill)]
    before = sorted(p.relative_to(inputs["tmp"]) for p in inputs["tmp"].rglob("*"))
    result = CliRunner().invoke(app, argv)
    assert isinstance(result.exception, SystemExit) and result.exit_code == 2, (result.exit_code, result.output)
    assert "Traceback" not in result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("autocode: error:")]
    assert len(errors) == 1, result.stderr
    assert f"{option} {target.format(**fill)}" in errors[0] and expected in errors[0], errors[0]
    assert "Pass " in errors[0]  # says what to pass instead
    # Nothing was written (the check comes before any work), and the inputs are untouched.
    assert sorted(p.relative_to(inputs["tmp"]) for p in inputs["tmp"].rglob("*")) == before
    assert inputs["a_file"].read_text(encoding="utf-8") == "keep me\n"


def test_every_command_is_listed_as_writing_or_read_only():
    """A new command must be added to WRITERS (and so to the test above) or to READ_ONLY."""
    root = typer.main.get_command(app)

    def names(group, prefix=""):
        for name, command in group.commands.items():
            if hasattr(command, "commands"):
                yield from names(command, prefix + name + " ")
            else:
                yield prefix + name

    listed = {args[0] if args[0] != "benchmark" else f"benchmark {args[1]}" for _, args, *_ in WRITERS} | READ_ONLY
    assert set(names(root)) == listed


def test_a_qdpx_without_its_extension_is_refused_before_training(inputs):
    out = inputs["tmp"] / "suggestions.zip"
    result = CliRunner().invoke(app, ["suggest", str(inputs["units"]), "--pool", str(inputs["transcripts"]), "--format", "qdpx",
                                      "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert f"--out {out}: the file must end in .qdpx" in result.stderr and "suggestions.qdpx" in result.stderr
    assert "seconds: train" not in result.stderr and not out.exists()
