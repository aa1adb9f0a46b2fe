"""Register transfer: does a model trained on one kind of text code another kind?

The shipped material has two registers, hand-coded with the same code system: the
constructed expert interviews (``corpus/codings.jsonl``) and the constructed literature
excerpts (``corpus/literature/codings.jsonl``). For each run configuration this module
measures, all through the code path of ``autocode train`` and ``autocode classify``
(:func:`pipeline.learn.train.train_on`, :meth:`pipeline.learn.model.Model.code_segments`):

* ``cv``: the nested, document-grouped cross-validation within each register, and over
  both registers together (scored per register as well);
* ``transfer``: train on all of one register, code the other one's documents;
* cost: training time of one model on one register (embeddings from the cache, so this
  is the classifier's own time), classification speed (segments per second end to end
  — segmentation excluded, embedding uncached — on a fixed sample of documents) and the
  job's peak memory.

Every configuration runs in a forked child process, so that its peak memory is its own.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.core.codebook import Codebook
from pipeline.core.config import RunConfig
from pipeline.core.errors import InputError
from pipeline.research.evaluate import predict_matrix

REGISTERS = {"interviews": "codings.jsonl", "literature": "literature/codings.jsonl"}


def load_registers(corpus: str | Path, *, codebook: Codebook, config: RunConfig) -> dict:
    """The training sets of the registers found in ``corpus`` (at least one).

    Returns:
        ``{register: TrainingSet}`` in the order of :data:`REGISTERS`.
    """
    from pipeline.learn.fit import build_training_set
    from pipeline.text.codings import read_hand_codes

    corpus = Path(corpus)
    out = {}
    for name, rel in REGISTERS.items():
        path = corpus / rel
        if path.is_file():
            hand = read_hand_codes([path], codebook=codebook)
            out[name] = build_training_set(hand, codebook=codebook, config=config)
    if not out:
        raise InputError(
            f"{corpus}: neither {' nor '.join(REGISTERS.values())} found. --corpus must be the corpus folder "
            "with the interviews' codings.jsonl (and literature/codings.jsonl)."
        )
    return out


def combine(a, b):
    """Two training sets (same code system) as one: segments, labels, context in order."""
    from pipeline.learn.fit import TrainingSet

    offset = len(a.all_segments)
    return TrainingSet(
        a.segments + b.segments,
        np.vstack([a.Y, b.Y]),
        np.concatenate([a.groups, b.groups]),
        a.codebook,
        a.coder,
        a.all_segments + b.all_segments,
        np.concatenate([a.all_rows, b.all_rows + offset]),
    )


def _brief(scores: dict) -> dict:
    keep = ("micro_f1", "macro_f1", "parent_micro_f1", "parent_macro_f1")
    out = {k: round(scores[k], 4) for k in keep if k in scores}
    out["per_code_f1"] = {c: round(r["f1"], 4) for c, r in scores["per_code"].items()}
    out["predicted"] = int(sum(r["predicted"] for r in scores["per_code"].values()))
    out["support"] = int(sum(r["support"] for r in scores["per_code"].values()))
    return out


def speed(model, data, *, n_segments: int = 150) -> tuple[float, int]:
    """Segments per second coding whole documents of ``data`` (about ``n_segments``,
    codable or not) with an uncached embedder after start-up; returns (rate, segments)."""
    from pipeline.research.benchmark import uncached

    segs = list(data.all_segments[:n_segments])
    model = uncached(model)
    start = time.perf_counter()
    model.code_segments(segs)
    return len(segs) / (time.perf_counter() - start), len(segs)


def evaluate_config(registers: dict, *, config: RunConfig) -> dict:
    """Every figure of one configuration (see the module docstring)."""
    from pipeline.learn.cv import cross_validated_predictions, scores_with_parents
    from pipeline.learn.train import train_on

    def cv(data):
        return cross_validated_predictions(data, config=config)[0]

    names = list(registers)
    result: dict = {"cv": {}, "transfer": {}}
    for name, data in registers.items():
        pred = cv(data)
        result["cv"][name] = _brief(scores_with_parents(data.Y, pred, data.codebook))
    if len(names) == 2:
        both = combine(registers[names[0]], registers[names[1]])
        pred = cv(both)
        result["cv"]["both"] = _brief(scores_with_parents(both.Y, pred, both.codebook))
        n0 = len(registers[names[0]].segments)
        for name, rows in ((names[0], slice(0, n0)), (names[1], slice(n0, None))):
            result["cv"][f"both:{name}"] = _brief(scores_with_parents(both.Y[rows], pred[rows], both.codebook))
    models = {}
    for name, data in registers.items():
        start = time.perf_counter()
        models[name] = train_on(data, config=config)
        result.setdefault("train_seconds", {})[name] = round(time.perf_counter() - start, 2)
    for src in names:
        for dst in names:
            if src != dst:
                pred = predict_matrix(models[src], registers[dst])
                result["transfer"][f"{src}→{dst}"] = _brief(scores_with_parents(registers[dst].Y, pred, registers[dst].codebook))
    first = names[0]
    rate, n = speed(models[first], registers[names[-1]])
    result["segments_per_second"] = round(rate, 1)
    result["speed_segments"] = n
    import resource

    result["peak_memory_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def run_transfer(
    registers: dict,
    configs: dict[str, RunConfig],
    *,
    isolate: bool = True,
    on_result: Callable[[str, dict], None] | None = None,
) -> dict:
    """:func:`evaluate_config` for each named configuration.

    Returns:
        ``{"registers": {name: {...sizes}}, "configs": {name: config dict},
        "results": {name: figures}, "machine": {...}}``.
    """
    from pipeline.research.benchmark import in_child

    results = {}
    for name, config in configs.items():
        job = lambda config=config: evaluate_config(registers, config=config)  # noqa: E731
        results[name] = in_child(job) if isolate else job()
        if on_result is not None:
            on_result(name, results[name])
    return {
        "benchmark": "register transfer (interviews ↔ literature excerpts)",
        "registers": {
            n: {"documents": len(set(d.groups)), "segments": len(d.segments), "coded_segments": int(d.Y.any(axis=1).sum())}
            for n, d in registers.items()
        },
        "configs": {n: c.to_dict() for n, c in configs.items()},
        "machine": {"cpus": os.cpu_count(), "omp_threads": os.environ.get("OMP_NUM_THREADS", ""), "platform": platform.platform()},
        "results": results,
    }


def check_card_model(directory: str | Path, configs: dict[str, RunConfig]):
    """The model whose card is to carry the figures, and the report's row that describes it:
    the configuration measured that the model was trained with (else the figures would
    describe another model).

    Returns:
        ``(model, row)``.
    """
    from pipeline.core.errors import ModelPathError
    from pipeline.learn.model import load_model

    model = load_model(directory)
    name = next((n for n, config in configs.items() if config == model.config), None)
    if name is None:
        raise ModelPathError(
            f"{directory} was trained with another configuration than {', '.join(configs)}: the figures would not be this model's. "
            f"Measure with --config {directory}/config.yaml as well, or retrain the model with one of them."
        )
    return model, name


def card_figures(report: dict, row: str | None = None) -> dict:
    """The model card's ``transfer`` entry: per direction micro-/macro-F1 beside the
    coded register's own cross-validated micro-F1, and the pooled CV, from the report's
    ``row`` (default: its only row)."""
    result = report["results"][row] if row is not None else next(iter(report["results"].values()))
    out: dict = {"registers": report["registers"], "directions": {}}
    for direction, t in result["transfer"].items():
        dst = direction.split("→")[1]
        out["directions"][direction] = {
            "micro_f1": t["micro_f1"],
            "macro_f1": t["macro_f1"],
            "parent_micro_f1": t.get("parent_micro_f1"),
            "cv_micro_f1_of_coded_register": result["cv"].get(dst, {}).get("micro_f1"),
            "per_code_f1": t["per_code_f1"],
        }
    if "both" in result["cv"]:
        out["cv_both"] = {k: result["cv"]["both"][k] for k in ("micro_f1", "macro_f1")}
    return out


def record_in_card(model, report: dict, row: str | None = None) -> None:
    """Write the transfer figures of ``row`` into the model's card (model.json and
    README.md), as a new complete model folder (:func:`pipeline.learn.model.save_model`)."""
    from pipeline.learn.model import save_model

    model.card["transfer"] = card_figures(report, row)
    save_model(model, model.path)


def markdown_table(report: dict) -> str:
    """One summary table (a row per configuration and direction), then per-code F1."""
    lines = [
        f"# {report['benchmark']}",
        "",
        ", ".join(f"{n}: {r['documents']} documents, {r['segments']} codable segments ({r['coded_segments']} coded)" for n, r in report["registers"].items()),
        "",
        "| configuration | trained on → coded | micro-F1 | macro-F1 | parent micro-F1 | CV micro-F1 of coded register | CV macro-F1 | gap (CV − transfer micro) | train s | segments/s | peak MiB |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in report["results"].items():
        rows = list(r["transfer"].items()) or [(f"{n}→{n} (CV only)", r["cv"][n]) for n in r["cv"] if ":" not in n and n != "both"]
        for direction, t in rows:
            dst = direction.split("→")[1].split(" ")[0]
            cv = r["cv"].get(dst, {})
            gap = cv.get("micro_f1", 0) - t["micro_f1"] if "CV only" not in direction else 0.0
            src = direction.split("→")[0]
            lines.append(
                f"| {name} | {direction} | {t['micro_f1']:.3f} | {t['macro_f1']:.3f} | {t.get('parent_micro_f1', 0):.3f} | "
                f"{cv.get('micro_f1', 0):.3f} | {cv.get('macro_f1', 0):.3f} | {gap:+.3f} | {r['train_seconds'].get(src, 0):.1f} | "
                f"{r['segments_per_second']:.0f} | {r['peak_memory_mib']:.0f} |"
            )
        if "both" in r["cv"]:
            b = r["cv"]["both"]
            parts = ", ".join(f"{k.split(':')[1]} {v['micro_f1']:.3f}/{v['macro_f1']:.3f}" for k, v in r["cv"].items() if k.startswith("both:"))
            lines.append(f"| {name} | both registers, CV | {b['micro_f1']:.3f} | {b['macro_f1']:.3f} | {b.get('parent_micro_f1', 0):.3f} | ({parts}) | | | | | |")
    for name, r in report["results"].items():
        cols = [*r["transfer"], *(k for k in r["cv"] if ":" not in k)]
        if not cols:
            continue
        table = {**r["transfer"], **{f"CV {k}": v for k, v in r["cv"].items() if ":" not in k}}
        heads = list(table)
        lines += ["", f"## Per-code F1, {name}", "", "| code | " + " | ".join(heads) + " |", "|---|" + "---:|" * len(heads)]
        codes = next(iter(table.values()))["per_code_f1"]
        for code in codes:
            lines.append(f"| {code} | " + " | ".join(f"{table[h]['per_code_f1'].get(code, 0):.2f}" for h in heads) + " |")
    return "\n".join(lines) + "\n"
