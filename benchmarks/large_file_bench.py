"""Time and peak memory of ``classify`` on one very large transcript.

    python benchmarks/large_file_bench.py [--mb 50] [--model models/default] [--keep DIR]
    python benchmarks/large_file_bench.py --mb 5 20 50 --model /tmp/tfidf-model

A German interview-like transcript of about ``--mb`` megabytes (UTF-8) is built from the
turns of the sample corpus (``corpus/transcripts``): the turns are shuffled with a fixed
seed, the speakers written ``I:``/``B:`` and the f4 timestamps renumbered as one running
clock, so the text reads like one endless interview. It is then coded through the same
path as ``autocode classify`` (read, hash, segment, embed, classify, write JSONL), with
the embedding cache switched off.

Peak memory is the process's peak resident set size (``getrusage``), next to the
resident size after the model was loaded and warmed up: the difference is what coding
the file costs. With several sizes each one runs in a fresh process, so that the peaks
do not mix.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["AUTOCODE_CACHE_DIR"] = "off"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

_TURN = re.compile(r"^(?P<label>[^\s:][^:\n]{0,30}):[ \t](?P<body>.+)$")
_STAMP = re.compile(r"[ \t]*(?:#\d{1,2}:\d{2}(?::\d{2})?(?:[-.,]\d+)?#|\[\d{1,2}:\d{2}(?::\d{2})?\])")


def _rss_mib() -> float:
    """Current resident set size in MiB (Linux /proc; 0 where unavailable)."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return 0.0


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def corpus_turns(folder: Path) -> list[tuple[bool, str]]:
    """``(is_interviewer, text)`` of every turn in the sample transcripts, timestamps removed."""
    from pipeline.core.config import SegmentConfig

    config = SegmentConfig()
    turns = []
    for path in sorted(folder.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _TURN.match(line)
            if m:
                turns.append((config.is_interviewer(m.group("label")), _STAMP.sub("", m.group("body")).strip()))
    return turns


def make_transcript(path: Path, megabytes: float, *, seed: int = 0) -> int:
    """Write an interview of about ``megabytes`` MB to ``path``; return its size in bytes."""
    turns = corpus_turns(REPO / "corpus" / "transcripts")
    rng = random.Random(seed)
    target = int(megabytes * 1_000_000)
    clock = 0.0
    size = 0
    with open(path, "w", encoding="utf-8", newline="\n") as fh:
        header = f"Interview (synthetisch, {megabytes:g} MB aus dem Beispielkorpus), Dauer unbekannt\n\n"
        fh.write(header)
        size += len(header.encode("utf-8"))
        while size < target:
            order = list(range(len(turns)))
            rng.shuffle(order)
            for k in order:
                interviewer, text = turns[k]
                clock += 2 + len(text) / 15
                h, rest = divmod(clock, 3600)
                m, s = divmod(rest, 60)
                line = f"{'I' if interviewer else 'B'}: {text} #{int(h):02d}:{int(m):02d}:{int(s):02d}-{int(s * 10) % 10}#\n\n"
                fh.write(line)
                size += len(line.encode("utf-8"))
                if size >= target:
                    break
    return size


def run_one(megabytes: float, model_dir: str, keep: Path | None) -> dict:
    from pipeline.learn.model import load_model
    from pipeline.run.batch import classify_files

    work = Path(tempfile.mkdtemp(prefix="autocode-large-"))
    source = (keep or work) / f"interview_{megabytes:g}mb.txt"
    source.parent.mkdir(parents=True, exist_ok=True)
    size = make_transcript(source, megabytes)

    model = load_model(model_dir)
    model.predict_proba(["Aufwärmen."])  # load the embedder's weights before the baseline
    baseline = _rss_mib()

    t0 = time.perf_counter()
    result = classify_files([source], model=model, out_dir=work / "out")
    seconds = time.perf_counter() - t0
    (f,) = result.files
    if f.status != "done":
        raise SystemExit(f"coding failed: {f.error}")
    out_bytes = f.output.stat().st_size
    return {
        "mb": size / 1e6,
        "model": model.name,
        "segments": f.segments,
        "seconds": seconds,
        "segments_per_s": f.segments / seconds,
        "baseline_mib": baseline,
        "peak_mib": _peak_mib(),
        "output_mb": out_bytes / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=float, nargs="+", default=[50.0], help="transcript size(s) in MB")
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    parser.add_argument("--keep", type=Path, help="write the generated transcript(s) here instead of a temporary folder")
    args = parser.parse_args()

    if len(args.mb) > 1:
        # One fresh process per size: a peak RSS never goes down within a process.
        for mb in args.mb:
            cmd = [sys.executable, __file__, "--mb", str(mb), "--model", args.model]
            if args.keep:
                cmd += ["--keep", str(args.keep)]
            subprocess.run(cmd, check=True)
        return
    r = run_one(args.mb[0], args.model, args.keep)
    print(
        f"{r['mb']:6.1f} MB  model {r['model']!r}: {r['segments']} segments in {r['seconds']:.1f} s "
        f"({r['segments_per_s']:.0f} segments/s); RSS after model load {r['baseline_mib']:.0f} MiB, "
        f"peak {r['peak_mib']:.0f} MiB (+{r['peak_mib'] - r['baseline_mib']:.0f} MiB for the file); "
        f"output {r['output_mb']:.0f} MB",
        flush=True,
    )


if __name__ == "__main__":
    main()
