"""Wall time and peak memory of the README's main command, cold and warm, as a record.

    python benchmarks/main_command_bench.py [--repeat 2] [--record FILE.json] [--autocode PATH]

Runs ``autocode classify CORPUS --out out/sample`` (CORPUS: this checkout's
``corpus/transcripts``, given as an absolute path) with the installed ``autocode``
executable, the one beside the Python that runs this script unless ``--autocode`` names
another, each time as a fresh process in an empty temporary working folder:

* cold, ``--repeat`` times: ``AUTOCODE_CACHE_DIR`` set to a new, empty folder for each
  run, so every sentence is embedded afresh (the encoders' weights are not removed: a
  user has them after the first run);
* warm, ``--repeat`` times: the cache the last cold run filled, the output folder removed
  before each run (otherwise the command skips the files as up to date).

Peak memory is the child's ``ru_maxrss`` (``getrusage(RUSAGE_CHILDREN)``) read by a
small ``python -c`` wrapper started afresh for each run: that figure is a maximum over
every child a process has waited for, so read in this script it would keep the first
cold run's peak for all later runs. ``/usr/bin/time -v`` reads the same number but is
not on every machine (and takes other options on macOS). The command's own "peak memory"
note is recorded beside it.

Prints a summary; ``--record`` writes the per-run figures, min and median, the installed
package (version, editable install or not) and the machine (cores, load average at the
start and the end) as a record (:mod:`pipeline.core.records`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pipeline.core.records import write_record

REPO = Path(__file__).resolve().parents[1]
OUT = "out/sample"

#: The wrapper that runs one command and writes its wall time and peak memory (KiB on
#: Linux, bytes on macOS) as JSON to argv[1]; the command's output goes to the wrapper's.
WRAPPER = """\
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:]).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
peak = usage.ru_maxrss / 2**20 if sys.platform == "darwin" else usage.ru_maxrss / 1024
with open(sys.argv[1], "w", encoding="utf-8") as f:
    json.dump({"returncode": code, "wall_s": wall, "peak_mib": peak,
               "cpu_s": usage.ru_utime + usage.ru_stime}, f)
"""

#: What the environment may set that changes the figures, recorded with them.
RECORDED_ENV = ("HF_HUB_OFFLINE", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "TOKENIZERS_PARALLELISM")

SUMMARY = re.compile(r"(\d+) file\(s\), (\d+) segments coded")
SKIPPED = re.compile(r"\((\d+) up to date, skipped\)")
REPORTED_PEAK = re.compile(r"peak memory (\d+) MiB")


def parse_summary(stderr: str) -> dict:
    """Files, segments, skipped files and the reported peak memory (MiB, or None) from
    the command's closing note ``autocode: N file(s), M segments coded ...``."""
    found = SUMMARY.findall(stderr)
    if not found:
        raise ValueError(
            "the command's output has no line 'N file(s), M segments coded'; "
            f"its last lines were:\n{_tail(stderr)}"
        )
    files, segments = found[-1]
    line = stderr[stderr.rindex(f"{files} file(s), {segments} segments coded"):].splitlines()[0]
    skipped, peak = SKIPPED.search(line), REPORTED_PEAK.search(line)
    return {
        "files": int(files),
        "segments": int(segments),
        "skipped": int(skipped.group(1)) if skipped else 0,
        "reported_peak_mib": int(peak.group(1)) if peak else None,
    }


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:]) or "(nothing)"


def find_autocode(given: str | None) -> Path:
    """The ``autocode`` executable to measure; exits with a message where there is none."""
    path = Path(given) if given else Path(sys.executable).parent / "autocode"
    if not path.is_file() or not os.access(path, os.X_OK):
        where = "given by --autocode" if given else f"beside this Python ({sys.executable})"
        raise SystemExit(
            f"main_command_bench: no autocode executable at {path} ({where}). Install the package "
            "into the environment to measure (pip install .) and run this script with that "
            "environment's Python, or pass --autocode PATH."
        )
    return path.resolve()


def _interpreter(executable: Path) -> str | None:
    """The Python a console script runs with: its ``#!`` line, or the ``exec`` line pip
    writes under ``#!/bin/sh`` when the interpreter's path is long or has spaces."""
    try:
        head = executable.read_bytes()[:1024].decode("utf-8", "replace").splitlines()
    except OSError:
        return None
    if not head or not head[0].startswith("#!"):
        return None
    line = head[0][2:].strip()
    if line in ("/bin/sh", "/usr/bin/env sh") and len(head) > 1:
        match = re.search(r"exec' \"?([^\"]+?)\"? \"\$0\"", head[1])
        return match.group(1) if match else None
    return shlex.split(line)[0] if line else None


def installed_package(executable: Path) -> dict:
    """Version of the ``autocode`` distribution the executable runs, and whether it is an
    editable install (its ``direct_url.json``: ``dir_info.editable``), asked of the
    executable's own Python; None where that cannot be found out."""
    unknown = {"interpreter": None, "version": None, "editable": None, "url": None}
    python = _interpreter(executable)
    if python is None or not Path(python).is_file():
        return unknown
    probe = (
        "import json\nfrom importlib import metadata\n"
        "try:\n    d = metadata.distribution('autocode')\nexcept metadata.PackageNotFoundError:\n"
        "    print(json.dumps(None)); raise SystemExit\n"
        "url = json.loads(d.read_text('direct_url.json') or 'null') or {}\n"
        "print(json.dumps({'version': d.version, 'url': url.get('url'),"
        " 'editable': bool(url.get('dir_info', {}).get('editable', False))}))\n"
    )
    try:
        done = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60)
        found = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        found = None
    return {**unknown, "interpreter": python, **(found or {})}


def _checkout() -> dict:
    """The commit of the checkout this script (and the corpus) come from: the installed
    package need not be one (``pip install .`` copies it), so the record's ``commit`` may be
    None."""
    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {"commit": commit, "uncommitted_changes": None if status is None else bool(status)}


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def run_once(autocode: Path, corpus: Path, work: Path, cache: Path, scratch: Path) -> dict:
    """One run of the main command in the empty folder ``work`` with the embedding cache
    ``cache``: wall time, peak memory, CPU time and what the command reported."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    cache.mkdir(parents=True, exist_ok=True)
    result_file = scratch / "run.json"
    result_file.unlink(missing_ok=True)
    cache_before = _folder_bytes(cache)
    load_before = round(os.getloadavg()[0], 2)
    env = {**os.environ, "AUTOCODE_CACHE_DIR": str(cache)}
    command = [str(autocode), "classify", str(corpus), "--out", OUT]
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(result_file), *command],
        cwd=work, env=env, capture_output=True, text=True,
    )
    measured = json.loads(result_file.read_text(encoding="utf-8")) if result_file.is_file() else None
    if done.returncode != 0 or measured is None or measured["returncode"] != 0:
        code = measured["returncode"] if measured else done.returncode
        raise SystemExit(f"main_command_bench: {shlex.join(command)} failed (exit {code}):\n{_tail(done.stderr)}")
    try:
        reported = parse_summary(done.stderr)
    except ValueError as err:
        raise SystemExit(f"main_command_bench: {err}") from None
    if reported["skipped"]:
        raise SystemExit(
            f"main_command_bench: the command skipped {reported['skipped']} file(s) as up to date, "
            f"so the run did not code them; {work / OUT} should not have existed before it."
        )
    return {
        "wall_s": round(measured["wall_s"], 3),
        "peak_mib": round(measured["peak_mib"], 1),
        "cpu_s": round(measured["cpu_s"], 3),
        **reported,
        "cache_bytes_before": cache_before,
        "cache_bytes_after": _folder_bytes(cache),
        "load_average_before": load_before,
    }


def _summary(runs: list[dict]) -> dict:
    wall, peak = [r["wall_s"] for r in runs], [r["peak_mib"] for r in runs]
    return {
        "runs": len(runs),
        "wall_s": {"min": min(wall), "median": round(statistics.median(wall), 3), "max": max(wall)},
        "peak_mib": {"min": min(peak), "median": round(statistics.median(peak), 1), "max": max(peak)},
    }


def benchmark(autocode: Path, corpus: Path, repeat: int) -> dict:
    """``repeat`` cold runs, each with a new empty cache, then ``repeat`` warm runs with the
    cache the last cold run filled."""
    machine = {
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "load_average_start": [round(x, 2) for x in os.getloadavg()],
    }
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="autocode-main-bench-") as tmp:
        tmp = Path(tmp)
        for i in range(repeat):
            cold.append(run_once(autocode, corpus, tmp / "work", tmp / f"cache-{i}", tmp))
            print(f"cold run {i + 1}: {cold[-1]['wall_s']:.1f} s, {cold[-1]['peak_mib']:.0f} MiB", file=sys.stderr)
        for i in range(repeat):
            warm.append(run_once(autocode, corpus, tmp / "work", tmp / f"cache-{repeat - 1}", tmp))
            print(f"warm run {i + 1}: {warm[-1]['wall_s']:.1f} s, {warm[-1]['peak_mib']:.0f} MiB", file=sys.stderr)
    machine["load_average_end"] = [round(x, 2) for x in os.getloadavg()]
    return {
        "measured": f"autocode classify {corpus} --out {OUT}",
        "autocode": str(autocode),
        "installed": installed_package(autocode),
        "checkout": _checkout(),
        "env": {name: os.environ.get(name) for name in RECORDED_ENV},
        "machine": machine,
        "files": cold[0]["files"],
        "segments": cold[0]["segments"],
        "cold": {**_summary(cold), "per_run": cold},
        "warm": {**_summary(warm), "per_run": warm},
    }


def summary_lines(result: dict) -> list[str]:
    installed = result["installed"]
    kind = {True: "editable install", False: "installed, not editable", None: "install kind unknown"}
    machine = result["machine"]
    lines = [
        f"{result['measured']}: {result['files']} file(s), {result['segments']} segments",
        f"autocode {installed['version'] or '(version unknown)'}, {kind[installed['editable']]} ({result['autocode']})",
    ]
    for label in ("cold", "warm"):
        s = result[label]
        lines.append(
            f"{label}: wall min {s['wall_s']['min']:.1f} s, median {s['wall_s']['median']:.1f} s; "
            f"peak memory min {s['peak_mib']['min']:.0f} MiB, median {s['peak_mib']['median']:.0f} MiB "
            f"({s['runs']} runs)"
        )
    lines.append(
        f"{machine['cpus']} cores, load average {machine['load_average_start'][0]:.1f} → "
        f"{machine['load_average_end'][0]:.1f}"
    )
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=2, help="cold runs, and as many warm runs (default 2)")
    parser.add_argument("--record", help="write the figures as a JSON record to this file")
    parser.add_argument("--autocode", help="the autocode executable (default: the one beside this Python)")
    parser.add_argument("--corpus", default=str(REPO / "corpus" / "transcripts"), help="folder to classify")
    opts = parser.parse_args(argv)
    if opts.repeat < 1:
        parser.error(f"--repeat must be at least 1, not {opts.repeat}")
    autocode = find_autocode(opts.autocode)
    corpus = Path(opts.corpus).resolve()
    if not corpus.is_dir():
        raise SystemExit(f"main_command_bench: the corpus folder {corpus} does not exist; pass --corpus FOLDER.")

    result = benchmark(autocode, corpus, opts.repeat)
    print("\n".join(summary_lines(result)))
    if opts.record:
        args = sys.argv[1:] if argv is None else argv
        write_record(opts.record, {"command": shlex.join(["python", "benchmarks/main_command_bench.py", *args]), **result})
        print(f"wrote {opts.record}")


if __name__ == "__main__":
    main()
