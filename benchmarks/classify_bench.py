"""Classification throughput of a model: segments per second and peak memory.

    python benchmarks/classify_bench.py [INPUT ...] [--model models/default] [--repeat 3]

Embeddings are computed afresh (the on-disk cache is switched off), the model is loaded
once, and the time excludes start-up (first call warms the embedder).
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from pathlib import Path

os.environ["AUTOCODE_CACHE_DIR"] = "off"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from pipeline.learn.model import load_model  # noqa: E402
from pipeline.text.ingest import collect_inputs, read_transcript  # noqa: E402
from pipeline.text.segment import segment_transcript  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", default=[str(REPO / "corpus" / "transcripts")])
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    model = load_model(args.model)
    transcripts = [read_transcript(p) for p in collect_inputs(args.inputs)]
    model.predict_proba(["Aufwärmen."])  # load the embedder's weights

    t0 = time.perf_counter()
    segments = [s for t in transcripts for s in segment_transcript(t, config=model.config.segment)]
    t_segment = time.perf_counter() - t0
    codable = sum(s.codable for s in segments)
    timings = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        model.code_segments(segments)
        timings.append(time.perf_counter() - t0)
    best = min(timings)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"files                 {len(transcripts)}")
    print(f"segments              {len(segments)} ({codable} codable)")
    print(f"segmentation          {t_segment:.2f} s  ({len(segments) / t_segment:.0f} segments/s)")
    print(f"embed + classify      {best:.2f} s  ({codable / best:.0f} codable segments/s, best of {args.repeat})")
    print(f"end to end            {len(segments) / (best + t_segment):.0f} segments/s")
    print(f"peak memory (RSS)     {peak:.0f} MiB")


if __name__ == "__main__":
    main()
