"""benchmarks/main_command_bench.py: the README's main command timed cold and warm, as a
record. A small stand-in executable plays ``autocode`` here, so no model runs."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "benchmarks" / "main_command_bench.py"

_spec = importlib.util.spec_from_file_location("main_command_bench", SCRIPT)
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

# Stands in for the installed command: logs what it was given and found, fills the
# embedding cache as the real one does, holds some memory, and closes with the real note.
FAKE = """#!{python}
import json, os, sys
from pathlib import Path
cache = Path(os.environ["AUTOCODE_CACHE_DIR"])
out = Path(sys.argv[sys.argv.index("--out") + 1])
with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
    log.write(json.dumps({{
        "argv": sys.argv[1:], "cwd": os.getcwd(), "cwd_entries": sorted(os.listdir(".")),
        "cache": str(cache), "cache_entries": sorted(os.listdir(cache)),
    }}) + "\\n")
skipped = " (2 up to date, skipped)" if out.exists() else ""
(cache / "embeddings.sqlite").write_bytes(b"v" * 1000)
out.mkdir(parents=True, exist_ok=True)
(out / "codings.csv").write_text("segment,code\\n", encoding="utf-8")
ballast = b"x" * (80 * 2**20)
sys.stderr.write("classify: 100%|##########| 2/2 [00:01<00:00]\\r\\n")
sys.stderr.write("autocode: 2 file(s), 17 segments coded with model 'default' into " + str(out)
                 + skipped + "; peak memory 95 MiB\\n")
"""


def _fake_autocode(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "autocode"
    path.parent.mkdir()
    path.write_text(FAKE.format(python=sys.executable), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def _run_script(*args: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])),
           **(env_extra or {})}
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=120)


def test_the_closing_note_gives_files_segments_and_peak_memory():
    stderr = (
        "classify:  50%|#####     | 1/2\rclassify: 100%|##########| 2/2\n"
        "code  segments\nA         12\n"
        "autocode: 8 file(s), 1392 segments coded with model 'default' into out/sample; peak memory 453 MiB\n"
        "autocode: results overview: out/sample/overview.html\n"
    )
    assert bench.parse_summary(stderr) == {"files": 8, "segments": 1392, "skipped": 0, "reported_peak_mib": 453}
    up_to_date = "autocode: 3 file(s), 40 segments coded with model 'm' into out (3 up to date, skipped)\n"
    assert bench.parse_summary(up_to_date) == {"files": 3, "segments": 40, "skipped": 3, "reported_peak_mib": None}


def test_output_without_the_closing_note_is_refused_with_what_it_said():
    with pytest.raises(ValueError, match="N file\\(s\\), M segments coded") as err:
        bench.parse_summary("autocode: error: no model in models/default\n")
    assert "no model in models/default" in str(err.value)


def test_a_missing_autocode_executable_is_refused_with_what_to_do(tmp_path):
    missing = tmp_path / "nowhere" / "autocode"
    done = _run_script("--autocode", str(missing))
    assert done.returncode != 0
    assert f"no autocode executable at {missing}" in done.stderr
    assert "pip install ." in done.stderr and "--autocode PATH" in done.stderr
    assert "Traceback" not in done.stderr

    not_executable = tmp_path / "autocode"
    not_executable.write_text("#!/bin/sh\n", encoding="utf-8")
    done = _run_script("--autocode", str(not_executable))
    assert done.returncode != 0 and f"no autocode executable at {not_executable}" in done.stderr


def test_cold_runs_start_from_an_empty_cache_and_warm_runs_reuse_it(tmp_path):
    autocode = _fake_autocode(tmp_path)
    log, record = tmp_path / "log.jsonl", tmp_path / "record.json"
    done = _run_script("--autocode", str(autocode), "--repeat", "2", "--record", str(record),
                       env_extra={"FAKE_LOG": str(log)})
    assert done.returncode == 0, done.stderr

    calls = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert len(calls) == 4
    corpus = REPO / "corpus" / "transcripts"
    for call in calls:
        assert call["argv"] == ["classify", str(corpus), "--out", "out/sample"]  # the corpus absolute
        assert call["cwd_entries"] == []  # an empty working folder, the output of the last run gone
        assert not call["cwd"].startswith(str(REPO))
    cold, warm = calls[:2], calls[2:]
    assert [c["cache_entries"] for c in cold] == [[], []]
    assert cold[0]["cache"] != cold[1]["cache"]  # each cold run has a cache of its own
    assert [c["cache"] for c in warm] == [cold[1]["cache"]] * 2
    assert [c["cache_entries"] for c in warm] == [["embeddings.sqlite"]] * 2

    written = json.loads(record.read_text(encoding="utf-8"))
    assert written["command"] == f"python benchmarks/main_command_bench.py --autocode {autocode} --repeat 2 --record {record}"
    assert written["measured"] == f"autocode classify {corpus} --out out/sample"
    assert (written["files"], written["segments"]) == (2, 17)
    assert [r["cache_bytes_before"] for r in written["cold"]["per_run"]] == [0, 0]
    assert [r["cache_bytes_before"] for r in written["warm"]["per_run"]] == [1000, 1000]
    for label in ("cold", "warm"):
        runs = written[label]["per_run"]
        assert len(runs) == written[label]["runs"] == 2
        walls = sorted(r["wall_s"] for r in runs)
        assert written[label]["wall_s"]["min"] == walls[0] > 0
        assert written[label]["wall_s"]["median"] == pytest.approx(sum(walls) / 2, abs=1e-3)
        # the child's own peak (it holds 80 MiB), not the few MiB of the wrapper around it
        assert all(80 <= r["peak_mib"] < 400 for r in runs)
        assert all(r["reported_peak_mib"] == 95 and r["skipped"] == 0 for r in runs)
    machine = written["machine"]
    assert machine["cpus"] >= 1 and len(machine["load_average_start"]) == len(machine["load_average_end"]) == 3
    # the fake runs with this Python, so the package it would find is this environment's
    direct = json.loads(metadata.distribution("autocode").read_text("direct_url.json") or "{}")
    assert written["installed"]["interpreter"] == sys.executable
    assert written["installed"]["version"] == metadata.version("autocode")
    assert written["installed"]["editable"] is bool(direct.get("dir_info", {}).get("editable", False))
    assert written["packages"]["python"] == sys.version.split()[0] and "created" in written

    summary = done.stdout
    assert "17 segments" in summary and "cold: wall min" in summary and "warm: wall min" in summary
    assert f"wrote {record}" in summary


def test_a_run_that_skipped_files_as_up_to_date_is_not_taken_as_a_measurement(tmp_path):
    # a stand-in that always says it skipped: the benchmark's figures would be of no coding
    autocode = _fake_autocode(tmp_path)
    autocode.write_text(autocode.read_text(encoding="utf-8").replace(
        'if out.exists() else ""', 'if True else ""'), encoding="utf-8")
    done = _run_script("--autocode", str(autocode), "--repeat", "1", env_extra={"FAKE_LOG": str(tmp_path / "log")})
    assert done.returncode != 0
    assert "skipped 2 file(s) as up to date" in done.stderr
