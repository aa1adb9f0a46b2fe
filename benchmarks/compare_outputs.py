"""Record autocode's outputs on the sample corpus, or compare two such records.

A refactoring (moving modules, splitting files, templates out of Python strings) must not
change what autocode computes. This script records the outputs a user sees and compares
two records file by file.

Record (run from any folder; the repository is the one this script lives in)::

    python benchmarks/compare_outputs.py OUT [--manifesto ../shared/data/manifesto_de_2021 --limit 300]

writes into OUT:

- ``classify/``: ``autocode classify corpus/transcripts --out OUT/classify`` with the
  shipped default model (one ``.jsonl`` and ``.meta.json`` per transcript, ``summary.csv``,
  ``overview.html``);
- ``agreement.json``, ``agreement.stdout`` and ``report/`` (``report.html``, ``figures.csv``,
  ``pairs.csv``, ``disagreements.csv``): ``autocode agreement corpus/codings.jsonl
  OUT/classify`` — coders A and B, and the model as one more coder (the JSON's
  ``model_vs_human``);
- ``agreement-span.json`` and ``agreement-span.stdout``: the same codings with ``--unit span``
  (Krippendorff's αu);
- ``manifesto/benchmark.json`` (only with ``--manifesto``): ``autocode benchmark manifesto
  --limit N``;
- ``produced.json``: the repository, the output folder and the date of the run (used to
  normalise the comparison), and each command's stderr under ``logs/``.

Compare::

    python benchmarks/compare_outputs.py --compare BEFORE AFTER

compares every file of BEFORE with the same file in AFTER and exits 1 on any difference
(a file missing on either side counts as a difference). Files are compared byte for byte
after these, and only these, normalisations:

- the absolute repository path and output folder of each run are replaced by ``<REPO>``
  and ``<OUT>`` (meta.json ``source``/``model_dir``, the report's input list): two
  checkouts live in different folders;
- the run's own date (``YYYY-MM-DD``, also inside ``YYYY-MM-DD HH:MM UTC``) is replaced by
  ``<DATE>`` and the clock time after it by ``<TIME>`` (the report's "created" line);
- in ``manifesto/benchmark.json`` the measured durations, rates and memory
  (``train_seconds``, ``classify_seconds``, ``segments_per_second``, ``peak_memory_mib``
  and every other key ending in ``_seconds``, ``_per_second`` or ``_mib``) are dropped;
  the ``benchmark.md`` table, which prints the same figures, is not compared;
- ``logs/`` (stderr: progress, peak memory) and ``produced.json`` are not compared.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOT_COMPARED = ("produced.json", "logs/", "manifesto/benchmark.md")
MEASURED = re.compile(r"(_seconds|_per_second|_mib)$")


def _autocode(args: list[str], *, out: Path, log: str) -> str:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    done = subprocess.run([sys.executable, "-m", "pipeline", *args], cwd=REPO, env=env,
                          capture_output=True, text=True)
    (out / "logs").mkdir(parents=True, exist_ok=True)
    (out / "logs" / f"{log}.stderr").write_text(done.stderr, encoding="utf-8")
    if done.returncode != 0:
        sys.exit(f"autocode {' '.join(args)} failed (exit {done.returncode}); see {out / 'logs' / (log + '.stderr')}")
    return done.stdout


def produce(out: Path, *, manifesto: Path | None, limit: int) -> None:
    out = out.resolve()
    if out.exists() and any(out.iterdir()):
        sys.exit(f"{out} is not empty: give a new folder, so that no old output is compared.")
    out.mkdir(parents=True, exist_ok=True)
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    classify = out / "classify"
    _autocode(["classify", "corpus/transcripts", "--out", str(classify)], out=out, log="classify")
    stdout = _autocode(["agreement", "corpus/codings.jsonl", str(classify), "--json", str(out / "agreement.json"),
                        "--report", str(out / "report")], out=out, log="agreement")
    (out / "agreement.stdout").write_text(stdout, encoding="utf-8")
    stdout = _autocode(["agreement", "corpus/codings.jsonl", "--unit", "span", "--texts", "corpus/transcripts",
                        "--json", str(out / "agreement-span.json")], out=out, log="agreement-span")
    (out / "agreement-span.stdout").write_text(stdout, encoding="utf-8")
    if manifesto is not None:
        _autocode(["benchmark", "manifesto", "--data", str(manifesto.resolve()), "--out", str(out / "manifesto"),
                   "--limit", str(limit)], out=out, log="manifesto")
    produced = {"repo": str(REPO), "out": str(out), "date": today,
                "end_date": dt.datetime.now(dt.timezone.utc).date().isoformat()}
    (out / "produced.json").write_text(json.dumps(produced, indent=2) + "\n", encoding="utf-8")
    print(f"outputs recorded in {out}")


def _drop_measured(value):
    if isinstance(value, dict):
        return {k: _drop_measured(v) for k, v in value.items() if not MEASURED.search(k)}
    if isinstance(value, list):
        return [_drop_measured(v) for v in value]
    return value


def _normalised(path: Path, rel: str, produced: dict) -> str:
    text = path.read_text(encoding="utf-8")
    # longest first: the output folder may lie inside the repository
    for key, mark in sorted((("out", "<OUT>"), ("repo", "<REPO>")), key=lambda km: -len(produced[km[0]])):
        text = text.replace(produced[key], mark)
    for date in {produced["date"], produced.get("end_date", produced["date"])}:
        text = re.sub(re.escape(date) + r"( \d{2}:\d{2}(:\d{2})?)?", lambda m: "<DATE>" + (" <TIME>" if m.group(1) else ""), text)
    if rel == "manifesto/benchmark.json":
        text = json.dumps(_drop_measured(json.loads(text)), ensure_ascii=False, indent=2) + "\n"
    return text


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()
            and not any(p.relative_to(root).as_posix().startswith(n) for n in NOT_COMPARED)}


def compare(a: Path, b: Path) -> int:
    produced = {}
    for side in (a, b):
        if not (side / "produced.json").is_file():
            sys.exit(f"{side} holds no produced.json: record it first with `python {Path(__file__).name} {side}`.")
        produced[side] = json.loads((side / "produced.json").read_text(encoding="utf-8"))
    fa, fb = _files(a), _files(b)
    differ = 0
    for rel in sorted(fa ^ fb):
        print(f"ONLY IN {a if rel in fa else b}: {rel}")
        differ += 1
    for rel in sorted(fa & fb):
        raw_a, raw_b = (a / rel).read_bytes(), (b / rel).read_bytes()
        if raw_a == raw_b:
            print(f"identical   {rel}")
            continue
        ta, tb = _normalised(a / rel, rel, produced[a]), _normalised(b / rel, rel, produced[b])
        if ta == tb:
            print(f"equal*      {rel}")
            continue
        differ += 1
        print(f"DIFFERENT   {rel}")
        diff = difflib.unified_diff(ta.splitlines(), tb.splitlines(), str(a / rel), str(b / rel), lineterm="", n=1)
        for i, line in enumerate(diff):
            if i == 40:
                print("    ...")
                break
            print("    " + line[:200])
    n = len(fa | fb)
    print(f"{n - differ} of {n} files identical or equal (* = after normalising paths, the run's date and "
          f"measured durations); {differ} different.")
    return 1 if differ else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", nargs="?", type=Path, help="folder to record the outputs into (new or empty)")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("BEFORE", "AFTER"), help="compare two records")
    parser.add_argument("--manifesto", type=Path, metavar="FOLDER", help="also run the Manifesto benchmark on this data")
    parser.add_argument("--limit", type=int, default=300, help="rows per party for the Manifesto benchmark (default 300)")
    args = parser.parse_args(argv)
    if args.compare:
        return compare(*args.compare)
    if args.out is None:
        parser.error("give OUT (a folder to record into) or --compare BEFORE AFTER")
    produce(args.out, manifesto=args.manifesto, limit=args.limit)
    return 0


if __name__ == "__main__":
    sys.exit(main())
