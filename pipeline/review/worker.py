"""The model in the loop: training and coding in a background process.

The server starts ``python -m pipeline.review.worker PROJECT MODEL_ID [--train]`` and never
waits for it. With ``--train`` the worker trains a model on the project's decisions with
exactly what ``autocode train PROJECT --out ...`` does (the project's configuration, its
thresholds chosen by cross-validation; the project's coders pooled by union), saves it under
``models/``, then codes every segment of the project: the model's codes and scores of
each segment become its proposals, and the uncoded segments are ranked by
:func:`pipeline.learn.active_learning.select` for the "what to code next" queue (what
``autocode suggest`` would choose). Only when all of that is written does the model
become the project's current one (status ``ready``): proposals never come from a half-
written model.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections import Counter
from pathlib import Path

import numpy as np

from pipeline.core.errors import AutocodeError
from pipeline.core.types import Segment
from pipeline.learn.active_learning import select
from pipeline.review.store import Project, now

RANKED = 300  # uncoded segments ranked for "what to code next" per model


def project_segments(project: Project) -> dict[str, list[Segment]]:
    """Every segment of the project, per document, in document order."""
    out: dict[str, list[Segment]] = {}
    rows = project.con.execute(
        "SELECT s.*, d.name AS document_name FROM segments s JOIN documents d ON d.id = s.document ORDER BY d.name, s.n"
    )
    for r in rows:
        out.setdefault(r["document_name"], []).append(
            Segment(r["id"], r["document_name"], r["start"], r["end"], r["speaker"], r["text"], r["role"], bool(r["codable"]))
        )
    return out


def train_model(project: Project, model_id: int) -> Path:
    """Train on the project's decisions as ``autocode train`` does; returns the model folder."""
    from pipeline.learn.model import save_model
    from pipeline.learn.train import train

    row = project.model_row(model_id)
    coders = [r[0] for r in project.con.execute("SELECT DISTINCT coder FROM decisions WHERE undone = 0 AND action = 'code'")]
    model = train([project.folder], config=project.config, codebook=project.codebook, coder=sorted(coders) or None,
                  combine="union", name=row["name"])
    folder = project.model_path(row)
    save_model(model, folder)
    cv = model.card.get("cv")
    with project._write() as con:
        con.execute("UPDATE models SET status = 'coding', cv = ? WHERE id = ?", (json.dumps(cv) if cv else None, model_id))
    return folder


def code_project(project: Project, model_id: int) -> None:
    """Write the model's proposals for every codable segment and its ranking of the
    uncoded ones, then make it the current model."""
    from pipeline.learn.model import load_model

    row = project.model_row(model_id)
    model = load_model(project.model_path(row))
    if tuple(model.codes) != tuple(project.codes):
        raise AutocodeError(
            f"model {row['name']} codes {', '.join(model.codes)}, the project's code system {', '.join(project.codes)}: "
            "expected the same codes. Give a model trained on this code system."
        )
    records, P, texts, docs = [], [], [], []
    for segments in project_segments(project).values():
        for rec in model.code_stream(segments):
            if rec["codable"]:
                records.append(rec)
                P.append([rec["scores"][c] for c in model.codes])
                texts.append(rec["text"])
                docs.append(rec["transcript"])
    P = np.asarray(P, dtype=np.float64).reshape(len(records), len(model.codes))
    decided = {r[0]: r[1] for r in project.con.execute(
        "SELECT segment, codes FROM decisions WHERE id IN (SELECT MAX(id) FROM decisions WHERE undone = 0 GROUP BY segment)")}
    open_rows = [i for i, r in enumerate(records) if r["id"] not in decided]
    ranks: dict[str, int] = {}
    if open_rows:
        counts = Counter(c for codes in decided.values() for c in json.loads(codes))
        coded_texts = [r["text"] for r in records if r["id"] in decided]
        picks = select(
            P[open_rows],
            n=min(RANKED, len(open_rows)),
            codes=model.codes,
            thresholds=model.classifier.thresholds_,
            single=model.config.classifier.labels != "multi",
            none=model.config.classifier.labels == "exclusive",
            embeddings=model.embedder.encode([texts[i] for i in open_rows]),
            coded_embeddings=model.embedder.encode(coded_texts) if coded_texts else None,
            documents=[docs[i] for i in open_rows],
            code_counts=np.array([counts[c] for c in model.codes], dtype=float),
            document_counts=Counter(records[i]["transcript"] for i, r in enumerate(records) if r["id"] in decided),
        )
        ranks = {records[open_rows[p.index]]["id"]: k for k, p in enumerate(picks)}
    with project._write() as con:
        con.execute("DELETE FROM proposals WHERE model = ?", (model_id,))
        con.execute("DELETE FROM proposal_codes WHERE model = ?", (model_id,))
        con.executemany(
            "INSERT INTO proposals VALUES (?, ?, ?, ?, ?)",
            [(model_id, r["id"], json.dumps(r["codes"]), json.dumps(r["scores"]), ranks.get(r["id"])) for r in records],
        )
        con.executemany(
            "INSERT INTO proposal_codes VALUES (?, ?, ?, ?)",
            [(model_id, c, r["scores"][c], r["id"]) for r in records for c in r["codes"]],
        )
        con.execute("UPDATE models SET status = 'ready', finished = ?, pid = NULL WHERE id = ?", (now(), model_id))


def run(folder: str | Path, model_id: int, *, train: bool) -> int:
    """Train (with ``train``) and code; the model's row says how it ended. Returns the exit code."""
    project = Project(folder)
    try:
        with project._write() as con:
            con.execute("UPDATE models SET pid = ?, status = ? WHERE id = ?", (os.getpid(), "training" if train else "coding", model_id))
        if train:
            train_model(project, model_id)
        code_project(project, model_id)
        return 0
    except BaseException as exc:  # the row must say why; the server shows it
        message = str(exc) if isinstance(exc, AutocodeError) else "".join(traceback.format_exception_only(type(exc), exc)).strip()
        with project._write() as con:
            con.execute("UPDATE models SET status = 'failed', finished = ?, error = ?, pid = NULL WHERE id = ?", (now(), message, model_id))
        if not isinstance(exc, (AutocodeError, KeyboardInterrupt)):
            traceback.print_exc()
        return 1
    finally:
        project.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.review.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("project")
    parser.add_argument("model_id", type=int)
    parser.add_argument("--train", action="store_true")
    args = parser.parse_args(argv)
    return run(args.project, args.model_id, train=args.train)


if __name__ == "__main__":
    sys.exit(main())
