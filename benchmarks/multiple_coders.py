"""Benchmark: which rule for training on several coders codes best against each coder?

On the sample corpus (``corpus/codings.jsonl``: coder A coded all 8 interviews, coder B
3 of them) with the default configuration, the nested, document-grouped cross-validation
of ``autocode evaluate`` is run for a model of A's codes alone, of B's alone and of both
joined by each rule of ``train --combine`` (each, union, majority). Every model's
out-of-fold predictions are scored against A's codes (on the segments A coded) and
against B's (on the segments B coded), so that the rows compare like with like.

Run ``python benchmarks/multiple_coders.py [--seeds N] [--json FILE]``; prints a Markdown table;
``--json`` writes the figures as a record (docs/multiple-coders.md cites
``benchmarks/results/multiple-coders.json``). The embeddings come from the cache after
the first run. ``autocode evaluate corpus/codings.jsonl --texts corpus/transcripts
--coder A --coder B --combine RULE`` prints the same figures for one rule.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.core.codebook import load_codebook
from pipeline.core.config import load_config
from pipeline.core.records import write_record
from pipeline.defaults import codebook_path
from pipeline.learn.cv import cross_validated_predictions, per_code_scores
from pipeline.learn.fit import build_training_set
from pipeline.text.codings import read_hand_codes

ROOT = Path(__file__).resolve().parents[1]
MODELS = (("A alone", ("A",), "each"), ("B alone", ("B",), "each"), ("each", ("A", "B"), "each"),
          ("union", ("A", "B"), "union"), ("majority", ("A", "B"), "majority"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="Also write the figures as JSON here.")
    parser.add_argument("--seeds", type=int, default=1, help="Repeat with training.seed 0..N-1 (other folds and "
                        "thresholds): mean and spread of each figure.")
    args = parser.parse_args()
    base = load_config(None)
    book = load_codebook(codebook_path())
    hand = read_hand_codes([ROOT / "corpus" / "codings.jsonl"], codebook=book, texts=[ROOT / "corpus" / "transcripts"])
    # Each coder's own codes on the segments they coded, keyed by segment id.
    reference = build_training_set(hand, codebook=book, config=base, coder=["A", "B"], combine="union")
    truth = {coder: ({reference.segments[i].id: row for i, row in zip(idx, Y)}) for coder, (idx, Y) in reference.by_coder.items()}
    results, predictions = {}, {}
    for name, coders, rule in MODELS:
        runs = []
        for seed in range(args.seeds):
            config = replace(base, training=replace(base.training, seed=seed))
            start = time.perf_counter()
            data = build_training_set(hand, codebook=book, config=config, coder=list(coders), combine=rule)
            pred, folds = cross_validated_predictions(data, config=config)
            predicted = {}
            for seg, row in zip(data.segments, pred):
                predicted.setdefault(seg.id, row)  # "each" holds a segment once per coder, predicted alike
            run = {"seed": seed, "examples": len(data.segments), "seconds": round(time.perf_counter() - start, 1),
                   "fold_rule": folds.describe()}
            for coder, codes in truth.items():
                ids = [i for i in codes if i in predicted]
                scores = per_code_scores(np.array([codes[i] for i in ids]), np.array([predicted[i] for i in ids]), book.leaf_ids)
                run[coder] = {"segments": len(ids), "of": len(codes), "micro_f1": scores["micro_f1"], "macro_f1": scores["macro_f1"]}
            print(f"{name}: {json.dumps(run)}", flush=True)
            runs.append(run)
            if seed == 0:
                predictions[name] = predicted
        results[name] = runs
    print()
    print(f"| trained on | examples | vs A: micro-F1 | vs A: macro-F1 | vs B: micro-F1 | vs B: macro-F1 |  ({args.seeds} seed(s): mean"
          + (" ± sd)" if args.seeds > 1 else ")"))
    print("|---|---:|---:|---:|---:|---:|")
    for name, runs in results.items():
        cells = []
        for coder in ("A", "B"):
            first = runs[0][coder]
            part = "" if first["segments"] == first["of"] else f" ({first['segments']} of {first['of']} segments)"
            for key in ("micro_f1", "macro_f1"):
                values = np.array([r[coder][key] for r in runs])
                cells.append(f"{values.mean():.3f}" + (f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else "")
                             + (part if key == "micro_f1" else ""))
        print(f"| {name} | {runs[0]['examples']} | " + " | ".join(cells) + " |")
    print()
    print("Difference to 'A alone' in micro-F1 (seed 0), 95 % interval from 2,000 resamples of documents "
          "(paired: both models scored on the same resampled documents):")
    document = {seg.id: seg.transcript for seg in reference.segments}
    rng = np.random.default_rng(0)
    for coder, codes in truth.items():
        for name in results:
            if name == "A alone":
                continue
            ids = [i for i in codes if i in predictions[name] and i in predictions["A alone"]]
            docs = sorted({document[i] for i in ids})
            by_doc = {d: [i for i in ids if document[i] == d] for d in docs}

            def counts(model, chosen):
                rows = [i for d in chosen for i in by_doc[d]]
                Y = np.array([codes[i] for i in rows])
                P = np.array([predictions[model][i] for i in rows])
                return 2 * (Y & P).sum(), (Y & ~P).sum() + (~Y & P).sum()

            def diff(chosen):
                (t1, e1), (t0, e0) = counts(name, chosen), counts("A alone", chosen)
                return t1 / (t1 + e1) - t0 / (t0 + e0)

            boot = [diff(rng.choice(docs, len(docs))) for _ in range(2000)]
            lo, hi = np.percentile(boot, [2.5, 97.5])
            results[name][0].setdefault("vs_A_alone", {})[coder] = {"micro_f1_diff": diff(docs), "ci95": [lo, hi], "documents": len(docs)}
            print(f"  against {coder}: {name} - A alone = {diff(docs):+.3f} [{lo:+.3f}, {hi:+.3f}] ({len(docs)} documents)")
    if args.json:
        # A record (pipeline.core.records): the figures with the command and commit that made them,
        # so docs/multiple-coders.md can cite it and the figures check can compare its tables.
        command = shlex.join(["python", "benchmarks/multiple_coders.py", *sys.argv[1:]])
        write_record(args.json, {"benchmark": "multiple coders", "seeds": args.seeds, "results": results,
                                 "command": command})


if __name__ == "__main__":
    main()
