"""Records of measurements (pipeline.core.records): the figures with what made them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata

import numpy as np
import pytest

from pipeline.core import records
from pipeline.core.records import write_record


def test_a_record_says_which_command_commit_and_packages_made_it(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["/somewhere/bin/autocode", "benchmark", "transfer", "--out", "my results"])
    figures = {"results": {"fast": {"micro_f1": 0.559}}}
    before = datetime.now(timezone.utc).replace(microsecond=0)
    written = write_record(tmp_path / "record.json", figures)
    on_disk = json.loads((tmp_path / "record.json").read_text(encoding="utf-8"))
    assert on_disk == written
    assert figures == {"results": {"fast": {"micro_f1": 0.559}}}  # the caller's dict is left as it was
    assert on_disk["results"] == {"fast": {"micro_f1": 0.559}}
    # the program as the user types it, the arguments quoted as a shell needs them
    assert on_disk["command"] == "autocode benchmark transfer --out 'my results'"
    created = datetime.fromisoformat(on_disk["created"])
    assert created.utcoffset().total_seconds() == 0 and before <= created <= datetime.now(timezone.utc)
    packages = on_disk["packages"]
    assert packages["python"] == sys.version.split()[0]
    assert packages["numpy"] == np.__version__
    assert packages["scikit-learn"] == metadata.version("scikit-learn")
    assert set(packages) == {"python", *records.RECORDED_PACKAGES}
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]  # no temporary file left behind


def test_the_commit_is_the_checked_out_one_of_the_repository(tmp_path):
    if not (records.REPOSITORY / ".git").exists():
        pytest.skip("not run from a git checkout")
    head = subprocess.run(["git", "-C", str(records.REPOSITORY), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    written = write_record(tmp_path / "r.json", {})
    assert written["commit"] == head and len(head) == 40
    assert isinstance(written["uncommitted_changes"], bool)


def test_a_changed_record_is_no_uncommitted_change_but_changed_code_is(tmp_path, monkeypatch):
    # A run that resumes a committed record rewrites that record: its own output must not
    # mark its figures as made from uncommitted code.
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    (tmp_path / "benchmarks" / "results").mkdir(parents=True)
    (tmp_path / "pipeline").mkdir()
    (tmp_path / "benchmarks" / "results" / "variants.json").write_text("{}\n")
    (tmp_path / "pipeline" / "code.py").write_text("C = 10\n")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "records"], check=True)
    monkeypatch.setattr(records, "REPOSITORY", tmp_path)
    assert write_record(tmp_path / "benchmarks" / "results" / "variants.json", {})["uncommitted_changes"] is False
    (tmp_path / "pipeline" / "code.py").write_text("C = 3\n")
    assert write_record(tmp_path / "benchmarks" / "results" / "variants.json", {})["uncommitted_changes"] is True


def test_an_installed_package_records_no_commit_rather_than_an_enclosing_repositorys(tmp_path, monkeypatch):
    # An installed package sits in a venv that may lie inside some other repository:
    # that repository's commit says nothing about this code.
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    site = tmp_path / "venv" / "lib"
    site.mkdir(parents=True)
    monkeypatch.setattr(records, "REPOSITORY", site)
    written = write_record(tmp_path / "r.json", {"command": "autocode benchmark germeval --out x"})
    assert written["commit"] is None and written["uncommitted_changes"] is None
    assert written["command"] == "autocode benchmark germeval --out x"  # a given command is kept


def test_the_benchmarks_report_is_a_record(tmp_path, monkeypatch):
    """``autocode benchmark manifesto`` and ``germeval`` write benchmark.json through one
    function: the figures stay as they were, what made them is added."""
    from pipeline.research.benchmark import write_report

    monkeypatch.setattr(sys, "argv", ["autocode", "benchmark", "germeval", "--out", "x"])
    js, md = write_report({"benchmark": "b", "figure": 0.5}, tmp_path, markdown=lambda r: f"# {r['benchmark']}\n")
    record = json.loads(js.read_text(encoding="utf-8"))
    assert record["benchmark"] == "b" and record["figure"] == 0.5
    assert record["command"] == "autocode benchmark germeval --out x"
    assert {"commit", "packages", "created"} <= set(record)
    assert md.read_text(encoding="utf-8") == "# b\n"
