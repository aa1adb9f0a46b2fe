"""GermEval 2021 benchmark: toxic, engaging and fact-claiming German comments.

The data (``../shared/data/germeval2021``, not shipped) holds the shared task's official
training file (3,244 comments) and test file (944), each comment with three binary
labels. The protocol follows that folder's README exactly:

* the three labels are one multi-label code system (a comment carries 0–3 codes); each
  comment is one segment and its own document (the folds of ``train`` then fall to
  comments);
* autocode trains as ``autocode train`` trains — the shipped configuration unless another
  is given, thresholds chosen by cross-validation on the training file to maximise the
  task's measure (``training.threshold_measure: both_classes``) — and the test file is
  scored once;
* measure per label: macro-F1 over the two classes (scikit-learn's
  ``f1_score(average="macro")`` on the label's 0/1 column), and their mean;
* peer in the same run: word 1–2-gram + char_wb 2–5-gram TF-IDF (sublinear tf, min_df 2)
  with ``LinearSVC(C=0.5, class_weight="balanced")``, one per label.
"""

from __future__ import annotations

import csv
import os
import platform
import resource
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.core.errors import InputError, InputPathError
from pipeline.core.types import Segment

LABELS = ("Sub1_Toxic", "Sub2_Engaging", "Sub3_FactClaiming")
FILES = {"train": "GermEval21_TrainData.csv", "test": "GermEval21_TestData.csv"}


def load_germeval(folder: str | Path, part: str, *, limit: int = 0) -> tuple[list[Segment], np.ndarray]:
    """The comments of one official file and their labels.

    Args:
        part: ``train`` or ``test``.
        limit: Keep only the first this many comments (0: all); for quick checks.

    Returns:
        (segments, Y): one segment per comment (its own document), and a bool ndarray
        of shape (n_comments, 3), columns in :data:`LABELS` order.
    """
    path = Path(folder) / FILES[part]
    if not path.is_file():
        raise InputPathError(f"{path} not found: --data must be the germeval2021 folder with {' and '.join(FILES.values())} (see ../shared/data/README.md).")
    segments, rows = [], []
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"comment_id", "comment_text", *LABELS} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{path}: columns {', '.join(sorted(missing))} missing; found {', '.join(reader.fieldnames or ())}.")
        for n, row in enumerate(reader):
            if limit and n >= limit:
                break
            try:
                labels = [int(row[k]) for k in LABELS]
            except ValueError:
                raise InputError(f"{path}: comment {row['comment_id']}: labels must be 0 or 1, found {[row[k] for k in LABELS]}.") from None
            doc = f"{part}-{row['comment_id']}"
            text = row["comment_text"]
            segments.append(Segment(id=doc, transcript=doc, start=0, end=len(text), speaker="", text=text, role="unit"))
            rows.append(labels)
    return segments, np.array(rows, dtype=bool).reshape(-1, len(LABELS))


def training_set(segments: list[Segment], Y: np.ndarray):
    """The :class:`pipeline.learn.fit.TrainingSet` of the comments: each its own document."""
    from pipeline.core.codebook import Codebook
    from pipeline.learn.fit import TrainingSet

    codebook = Codebook.from_ids(list(LABELS), name="GermEval 2021 labels")
    return TrainingSet(tuple(segments), np.asarray(Y, dtype=bool), np.array([s.transcript for s in segments]), codebook, "germeval")


def official_scores(Y: np.ndarray, pred: np.ndarray) -> dict:
    """Per label macro-F1 over its two classes (the task's measure), and their mean."""
    from sklearn.metrics import f1_score

    per = {lab: round(float(f1_score(Y[:, j].astype(int), pred[:, j].astype(int), average="macro", zero_division=0)), 4) for j, lab in enumerate(LABELS)}
    return {"per_label": per, "mean": round(float(np.mean(list(per.values()))), 4)}


def fit_peer(texts: list[str], Y: np.ndarray, *, seed: int = 0):
    """The protocol's peer, one LinearSVC per label; returns ``predict(texts) -> bool
    (n, 3)``."""
    from pipeline.research.benchmark import fit_peer as one_peer

    models = [one_peer(texts, Y[:, j].astype(int), seed=seed) for j in range(Y.shape[1])]
    return lambda new: np.column_stack([m(new) for m in models]).astype(bool)


def predict(model, segments: list[Segment]) -> np.ndarray:
    """What ``autocode classify`` codes for each comment (each its own document)."""
    col = {c: j for j, c in enumerate(model.codes)}
    out = np.zeros((len(segments), len(model.codes)), dtype=bool)
    for i, seg in enumerate(segments):
        (record,) = model.code_segments([seg])
        for code in record["codes"]:
            out[i, col[code]] = True
    return out


def run_germeval(folder: str | Path, *, config: RunConfig, limit: int = 0) -> dict:
    """Train autocode and the peer, score the test file once; return the report (see
    :func:`markdown_table`)."""
    from pipeline.learn.train import train_on

    config = replace(config, training=replace(config.training, threshold_measure="both_classes"))
    train_segs, Y_train = load_germeval(folder, "train", limit=limit)
    test_segs, Y_test = load_germeval(folder, "test", limit=limit)
    data = training_set(train_segs, Y_train)
    results = {}
    start = time.perf_counter()
    model = train_on(data, config=config)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = predict(model, test_segs)
    classify_s = time.perf_counter() - start
    results["autocode"] = {
        **official_scores(Y_test, pred),
        "train_seconds": round(train_s, 1),
        "segments_per_second": round(len(test_segs) / classify_s, 1) if classify_s > 0 else None,
        "peak_memory_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    start = time.perf_counter()
    peer = fit_peer([s.text for s in train_segs], Y_train, seed=config.training.seed)
    train_s = time.perf_counter() - start
    start = time.perf_counter()
    peer_pred = peer([s.text for s in test_segs])
    classify_s = time.perf_counter() - start
    results["peer"] = {**official_scores(Y_test, peer_pred), "train_seconds": round(train_s, 1), "segments_per_second": round(len(test_segs) / classify_s, 1) if classify_s > 0 else None}
    return {
        "benchmark": "germeval2021",
        "protocol": "../shared/data/README.md: train on GermEval21_TrainData.csv (choices by CV inside it), score GermEval21_TestData.csv once; per label macro-F1 over the two classes",
        "train_comments": len(train_segs),
        "test_comments": len(test_segs),
        "config": model.config.to_dict(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "results": results,
    }


def markdown_table(report: dict) -> str:
    """The benchmark as Markdown: test figures of autocode and peer."""
    lines = [
        "# autocode vs. TF-IDF + LinearSVC peer — GermEval 2021",
        "",
        f"{report['train_comments']} training / {report['test_comments']} test comments; protocol: {report['protocol']}.",
        "",
        "| method | " + " | ".join(LABELS) + " | mean | train s | comments/s |",
        "|---|" + "---:|" * (len(LABELS) + 3),
    ]
    for method, r in report["results"].items():
        cells = [f"{r['per_label'][lab]:.3f}" for lab in LABELS]
        lines.append(f"| {method} | " + " | ".join(cells) + f" | {r['mean']:.3f} | {r['train_seconds']:.1f} | {r['segments_per_second'] or 0:.0f} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: str | Path) -> tuple[Path, Path]:
    """OUT/benchmark.json and OUT/benchmark.md, written as the Manifesto benchmark writes them."""
    from pipeline.research.benchmark import write_report as write

    return write(report, out_dir, markdown=markdown_table)
