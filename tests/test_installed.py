"""What a user installs is what we measured: the wheel, run from an empty folder.

The wheel is built from a copy of the repository's package files, installed (without its
dependencies, which this environment already has) into a fresh virtual environment that
sees this environment's site-packages but not the checkout, and its console script is run
from an empty folder with no options beyond the inputs.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from pipeline import defaults
from pipeline.core.config import RunConfig, load_config

pytestmark = pytest.mark.slow


def _run(args, **kw):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AUTOCODE_MODEL")}
    env["HF_HUB_OFFLINE"] = "1"
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=600, **kw)


@pytest.fixture(scope="module")
def installed(repo, tmp_path_factory) -> Path:
    """The bin/ folder of a fresh virtual environment with the wheel installed."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(repo / name, src / name)
    shutil.copytree(repo / "pipeline", src / "pipeline", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp / "dist"), str(src)])
    if built.returncode != 0 and "No module named" in built.stderr:
        pytest.skip(f"cannot build a wheel here: {built.stderr.strip().splitlines()[-1]}")
    assert built.returncode == 0, built.stderr
    wheel = next((tmp / "dist").glob("autocode-*.whl"))
    venv = tmp / "venv"
    made = _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    assert made.returncode == 0, made.stderr
    # The dependencies come from this environment's site-packages (read, not imported as
    # a checkout: the editable hook of this environment is a .pth file there, and .pth
    # files are only processed in site directories, not in folders named by a .pth line).
    purelib = Path(_run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    ours = {Path(p) for p in site.getsitepackages() + [sysconfig.get_paths()["purelib"]]}
    (purelib / "_autocode_test_deps.pth").write_text("\n".join(str(p) for p in sorted(ours)) + "\n", encoding="utf-8")
    done = _run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "--no-deps", "--no-index", "-q", str(wheel)])
    assert done.returncode == 0, done.stderr
    return venv / "bin"


def test_the_wheel_holds_the_shipped_defaults(installed, tmp_path):
    where = _run([str(installed / "python"), "-c", "import pipeline, pipeline.defaults as d; print(pipeline.__file__); print(d.model_dir())"], cwd=tmp_path)
    assert where.returncode == 0, where.stderr
    package, model = where.stdout.split()
    assert str(installed.parent) in package  # the installed copy, not the checkout
    assert Path(model, "weights.npz").is_file()
    for name in ("config.yaml", "codebook.yaml", "manifesto.yaml"):
        assert (Path(package).parent / "defaults" / name).read_bytes() == (Path(defaults.__file__).parent / name).read_bytes()


def test_installed_classify_from_an_empty_folder(installed, repo, tmp_path):
    transcript = repo / "corpus" / "transcripts" / "int03_kmu_sensorik.txt"
    result = _run([str(installed / "autocode"), "classify", str(transcript), "--out", "o", "--quiet"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "o" / "int03_kmu_sensorik.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records and all(r["model"] for r in records)
    meta = json.loads((tmp_path / "o" / "int03_kmu_sensorik.meta.json").read_text(encoding="utf-8"))
    # The same model as the checkout's default: same codes, same coded segments.
    from pipeline.learn.model import load_model

    model = load_model(defaults.model_dir())
    segments = [r for r in records if r["codable"]]
    assert sum(bool(r["codes"]) for r in segments) > 5
    assert set(segments[0]["scores"]) == set(model.codes)
    assert json.dumps(meta, sort_keys=True).count(model.fingerprint) >= 1


def test_installed_train_without_config_writes_the_shipped_default(installed, repo, tmp_path):
    # Two short documents coded with two codes: enough to train, fast to embed.
    docs = tmp_path / "texts"
    docs.mkdir()
    lines = []
    for d in range(2):
        text = " ".join(
            f"Wir suchen neue Kunden in Frankreich, Nummer {d}{i}." if i % 2 else f"Die Sprache war ein Problem für uns, Nummer {d}{i}."
            for i in range(12)
        )
        (docs / f"doc{d}.txt").write_text(text, encoding="utf-8")
        pos = 0
        for sentence in text.split(". "):
            sentence = sentence if sentence.endswith(".") else sentence + "."
            start = text.index(sentence, pos)
            code = "MOT-MARKT" if "Kunden" in sentence else "HEM-SPRACHE-KULTUR"
            lines.append(json.dumps({"document": f"doc{d}", "start": start, "end": start + len(sentence), "code": code, "coder": "A"}))
            pos = start + len(sentence)
    (docs / "codes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = _run([str(installed / "autocode"), "train", str(docs / "codes.jsonl"), "--out", "m", "--no-cv"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert load_config(tmp_path / "m" / "config.yaml") == RunConfig() == load_config(None)


def test_installed_manifesto_benchmark_uses_the_shipped_configuration(installed, shared, tmp_path):
    data = shared / "data" / "manifesto_de_2021"
    result = _run([str(installed / "autocode"), "benchmark", "manifesto", "--data", str(data), "--out", "b", "--dry-run", "--limit", "20"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["config"] == load_config(defaults.manifesto_config_path()).to_dict()
    assert plan["configuration"].endswith("manifesto.yaml") and str(installed.parent) in plan["configuration"]
