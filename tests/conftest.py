"""Shared fixtures. Tests run offline (HF_HUB_OFFLINE=1) with a private embedding cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    os.environ["AUTOCODE_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))
    yield


@pytest.fixture
def shared() -> Path:
    """The read-only shared material beside the repository; tests skip without it."""
    if not SHARED.is_dir():
        pytest.skip("../shared is not available")
    return SHARED


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


#: Two short sample interviews (both coded by coders A and B in corpus/codings.jsonl).
SAMPLE_DOCUMENTS = ("int06_ministerium", "int03_kmu_sensorik")


@pytest.fixture(scope="session")
def sample_classified(tmp_path_factory):
    """Two sample interviews copied to ``mine/`` and classified with the shipped model into
    ``coded-by-model/``, as a user does with their own transcripts: ``(root, mine, outputs)``."""
    import shutil

    from typer.testing import CliRunner

    from pipeline.cli import app

    root = tmp_path_factory.mktemp("sample_classified")
    mine = root / "mine"
    mine.mkdir()
    for doc in SAMPLE_DOCUMENTS:
        shutil.copy(REPO / "corpus" / "transcripts" / f"{doc}.txt", mine)
    out = root / "coded-by-model"
    result = CliRunner().invoke(app, ["classify", str(mine), "--out", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    return root, mine, out
