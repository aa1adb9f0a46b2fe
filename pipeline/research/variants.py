"""How much configuration selection is worth: variants of it compared under nested
cross-validation (``autocode benchmark variants``, docs/model-selection.md).

Each variant is a pool of candidates for :func:`pipeline.learn.select.train_selected`;
each outer fold of :func:`pipeline.research.evaluate.selected_cv_predictions` runs the
variant's whole selection on its training part and codes its held-out documents. A
fixed configuration (no selection) is measured on the same outer folds. Every figure
comes with its fold-to-fold standard error, and each variant's difference to the best
one with the standard error of the paired per-fold differences, so that "not worse than
the best by more than the noise" can be read off the record.

Variants (:data:`VARIANTS`):

* ``selection``: what ``autocode train`` does today (:func:`pipeline.learn.select.default_pool`,
  the mean of two families, the per-code choice);
* ``hybrid``: one family, the hybrid (e5 beside word and character n-grams), with C
  chosen per code from :data:`WIDE_C`;
* ``hybrid+fast``: the same, and the fast preset (USE beside the n-grams) over the same
  grid as a second family, per code;
* ``fixed:default`` and ``fixed:hybrid``: the shipped configuration and the hybrid at
  C=1, no selection; ``fixed:FAMILY@C`` a family of
  :func:`pipeline.learn.select.presets` at another C.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.learn.classify import make_folds
from pipeline.learn.cv import cross_validated_predictions, per_code_scores
from pipeline.learn.select import candidates, default_pool, presets
from pipeline.research.evaluate import predict_matrix, selected_cv_predictions

WIDE_C = (0.3, 1.0, 3.0, 10.0, 30.0)
"""The C grid of the one-family variants: the selection's own grid (0.3, 1, 3) chose its
edge, 3, in every recorded run, so the grid goes two steps beyond it."""

VARIANTS = ("selection", "hybrid", "hybrid+fast", "fixed:default", "fixed:hybrid")


def variant_pool(name: str, base: RunConfig, Y: np.ndarray):
    """``(pool, ensemble)`` of a selection variant, or ``(config, None)`` of a fixed one."""
    if name == "selection":
        return default_pool(base, Y), True
    if name == "hybrid":
        return candidates(base, families=("hybrid",), grids={"hybrid": WIDE_C}), False
    if name == "hybrid+fast":
        return candidates(base, families=("hybrid", "fast"), grids={"hybrid": WIDE_C, "fast": WIDE_C}), False
    family, _, C = name.removeprefix("fixed:").partition("@")
    if name.startswith("fixed:") and family in ("default", "hybrid", "fast"):
        config = presets(base)[family]
        if C or family == "hybrid":
            config = replace(config, classifier=replace(config.classifier, C=float(C or 1.0)))
        return config, None
    raise ValueError(f"unknown variant {name!r}; expected one of {', '.join(VARIANTS)} (fixed:FAMILY@C for another C)")


def known(name: str) -> bool:
    """Whether ``name`` is a variant :func:`variant_pool` knows: one of :data:`VARIANTS`, or
    ``fixed:FAMILY@C`` (default, fast or hybrid at a positive C)."""
    if name in VARIANTS:
        return True
    family, at, C = name.removeprefix("fixed:").partition("@")
    try:
        return name.startswith("fixed:") and family in ("default", "hybrid", "fast") and bool(at) and float(C) > 0
    except ValueError:
        return False


def fold_figures(Y: np.ndarray, pred: np.ndarray, splits, codes: Sequence[str]) -> dict:
    """Micro- and macro-F1 pooled over the folds, per fold, and their fold-to-fold
    standard error (sample standard deviation of the per-fold figures / √folds)."""
    pooled = per_code_scores(Y, pred, tuple(codes))
    out: dict = {"micro_f1": round(pooled["micro_f1"], 4), "macro_f1": round(pooled["macro_f1"], 4), "per_fold": []}
    for _, test in splits:
        s = per_code_scores(Y[test], pred[test], tuple(codes))
        out["per_fold"].append({"micro_f1": round(s["micro_f1"], 4), "macro_f1": round(s["macro_f1"], 4)})
    for k in ("micro_f1", "macro_f1"):
        v = np.array([f[k] for f in out["per_fold"]])
        out[f"se_{k}"] = round(float(v.std(ddof=1) / np.sqrt(len(v))), 4) if len(v) > 1 else None
    return out


def paired(a: dict, b: dict, key: str) -> tuple[float, float]:
    """Mean per-fold difference a − b of ``key`` and its standard error."""
    d = np.array([x[key] - y[key] for x, y in zip(a["per_fold"], b["per_fold"])])
    return round(float(d.mean()), 4), round(float(d.std(ddof=1) / np.sqrt(len(d))), 4)


def chosen_counts(folds) -> dict[str, int]:
    """How many (outer fold, code) pairs each candidate coded: where the chosen C lands."""
    out: dict[str, int] = {}
    for f in folds:
        for name in f.per_code.values():
            out[name] = out.get(name, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def compare_nested(
    data,
    *,
    base: RunConfig,
    variants: Sequence[str] = VARIANTS,
    measure: str = "micro",
    progress: Callable[[str], None] | None = None,
    on_result: Callable[[str, dict], None] | None = None,
    done: dict | None = None,
) -> dict:
    """Every variant on the same outer folds of ``data`` (a
    :class:`pipeline.learn.fit.TrainingSet`): ``{name: figures}`` with
    :func:`fold_figures`, ``seconds``, and for a selection the candidates and
    ``chosen`` (:func:`chosen_counts`); then ``vs_best``: per variant the paired
    difference to the variant with the best pooled figure of ``measure``. ``done``: rows
    measured before on the same folds (``{name: row}``), kept as they are."""
    say = progress or (lambda line: None)
    folds = make_folds(data.groups, data.Y, base.training.cv_folds, seed=base.training.seed)
    codes = data.codebook.leaf_ids
    out: dict = dict(done or {})
    for name in variants:
        if name in out:
            say(f"variant {name}: kept from the earlier run")
            continue
        clock = time.perf_counter()
        pool, ensemble = variant_pool(name, base, data.Y)
        say(f"variant {name}: " + ("one fixed configuration" if ensemble is None else f"{len(pool)} candidates"))
        if ensemble is None:
            pred, made = cross_validated_predictions(data, config=pool)[:2]
            row = fold_figures(data.Y, pred, made.splits, codes)
        else:
            pred, made, chosen = selected_cv_predictions(data, config=base, measure=measure, pool=pool, ensemble=ensemble, progress=say)
            row = fold_figures(data.Y, pred, made.splits, codes)
            row["candidates"] = [c.name for c in pool] + (["mean of the two best families"] if ensemble else [])
            row["chosen"] = chosen_counts(chosen)
            row["folds_chose"] = [f.describe() for f in chosen]
        assert [t.tolist() for _, t in made.splits] == [t.tolist() for _, t in folds.splits], "variants must share the outer folds"
        row["seconds"] = round(time.perf_counter() - clock, 1)
        out[name] = row
        say(f"variant {name}: micro-F1 {row['micro_f1']:.3f} ± {row['se_micro_f1']}, macro-F1 {row['macro_f1']:.3f} ± {row['se_macro_f1']} "
            f"({row['seconds']:.0f} s)")
        if on_result is not None:
            on_result(name, row)
    key = "micro_f1" if measure == "micro" else "macro_f1"
    best = max(out, key=lambda n: out[n][key])
    vs = {}
    for name, row in out.items():
        vs[name] = {k: dict(zip(("difference", "se"), paired(row, out[best], k))) for k in ("micro_f1", "macro_f1")}
    return {"folds": folds.describe(), "best": best, "variants": out, "vs_best": vs}


def transfer_variants(registers: dict, *, base: RunConfig, variants: Sequence[str] = VARIANTS, measure: str = "micro",
                      progress: Callable[[str], None] | None = None) -> dict:
    """Each variant trained on all of one register (choosing there) and coding the other's
    documents: ``{variant: {"a→b": {"micro_f1", "macro_f1"}, ...}}``."""
    from pipeline.learn.select import train_selected
    from pipeline.learn.train import train_on

    say = progress or (lambda line: None)
    names = list(registers)
    out: dict = {}
    for name in variants:
        out[name] = {}
        for src in names:
            data = registers[src]
            pool, ensemble = variant_pool(name, base, data.Y)
            model = train_on(data, config=pool) if ensemble is None else train_selected(data, base=base, measure=measure, pool=pool, ensemble=ensemble)
            for dst in names:
                if dst != src:
                    target = registers[dst]
                    s = per_code_scores(target.Y, predict_matrix(model, target), target.codebook.leaf_ids)
                    out[name][f"{src}→{dst}"] = {"micro_f1": round(s["micro_f1"], 4), "macro_f1": round(s["macro_f1"], 4)}
                    say(f"variant {name}, {src}→{dst}: micro-F1 {s['micro_f1']:.3f}, macro-F1 {s['macro_f1']:.3f}")
    return out


def record_header(command: Sequence[str]) -> dict:
    """What a record says about how it was made: the command, the commit (``+dirty`` with
    uncommitted changes) and the package versions."""
    import subprocess
    import sys

    from pipeline.learn.model import package_versions

    def git(*args):
        try:
            return subprocess.run(["git", *args], capture_output=True, text=True, check=True, cwd=Path(__file__).parent).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    commit = git("rev-parse", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    return {"command": "autocode " + " ".join(command), "commit": commit + ("+dirty" if commit and dirty else ""),
            "python": sys.version.split()[0], "packages": package_versions()}


def markdown_variants(record: dict) -> str:
    """The record's table: a row per variant, pooled figures ± fold-to-fold standard
    error and the paired difference to the best."""
    nested = record.get("nested", {"variants": {}})
    lines = [f"# Selection variants ({nested.get('folds', 'transfer only')}; {record['data']})", "",
             f"`{record['command']}` at {record['commit'] or 'an unknown commit'}"
             + "".join(f"; {n} from an earlier run at {c[:7]}" for n, c in record.get("resumed", {}).items()), ""]
    if nested["variants"]:
        lines += ["| variant | micro-F1 ± SE | macro-F1 ± SE | micro vs best ± SE | macro vs best ± SE | seconds |",
                  "|---|---:|---:|---:|---:|---:|"]
    for name, r in nested["variants"].items():
        vs = nested.get("vs_best", {}).get(name)
        diff = (f"{vs['micro_f1']['difference']:+.3f} ± {vs['micro_f1']['se']:.3f} | {vs['macro_f1']['difference']:+.3f} ± {vs['macro_f1']['se']:.3f}"
                if vs else " | ")
        lines.append(f"| {name} | {r['micro_f1']:.3f} ± {r['se_micro_f1']:.3f} | {r['macro_f1']:.3f} ± {r['se_macro_f1']:.3f} | {diff} | {r['seconds']:.0f} |")
    for name, r in nested["variants"].items():
        if "chosen" in r:
            lines += ["", f"{name}: (outer fold, code) pairs per chosen candidate: " + ", ".join(f"{k} {v}" for k, v in r["chosen"].items())]
    if record.get("transfer"):
        lines += ["", "| variant | direction | micro-F1 | macro-F1 |", "|---|---|---:|---:|"]
        for name, t in record["transfer"].items():
            lines += [f"| {name} | {d} | {f['micro_f1']:.3f} | {f['macro_f1']:.3f} |" for d, f in t.items()]
    return "\n".join(lines) + "\n"


def run_variants(corpus, out, *, variants: Sequence[str] = VARIANTS, nested: bool = True, transfer: bool = False,
                 resume: bool = False, germeval=None, progress: Callable[[str], None] | None = None) -> dict:
    """With ``nested``, :func:`compare_nested` on both registers of the sample corpus
    together (the default configuration's segmentation and training procedure, the default
    coder of each register); with ``transfer``, :func:`transfer_variants`. The record is written to
    ``out`` (JSON) and beside it as Markdown after every variant, so a long run leaves
    what it finished; with ``resume`` the nested rows of such a record at ``out`` (same
    data) are kept, and ``resumed`` names the commit each came from. With ``germeval`` (the
    germeval2021 folder) the data is GermEval 2021's official training file instead (each
    comment its own document, thresholds by the task's measure); its test file is not read."""
    import json
    import sys

    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.core.io import atomic_write_text
    from pipeline.defaults import codebook_path
    from pipeline.research.benchmark_transfer import combine, load_registers

    out = Path(out)
    base = load_config(None)
    if germeval is not None:
        from pipeline.research.benchmark_germeval import load_germeval, training_set

        base = replace(base, training=replace(base.training, threshold_measure="both_classes"))
        both = training_set(*load_germeval(germeval, "train"))
        registers, names = {}, []
        described = f"GermEval 2021 training file ({len(both.segments)} comments, each its own document)"
    else:
        registers = load_registers(corpus, codebook=load_codebook(codebook_path()), config=base)
        names = list(registers)
        both = combine(*registers.values()) if len(names) == 2 else registers[names[0]]
        described = " + ".join(f"{n} ({len(d.segments)} segments, {len(set(d.groups))} documents, coder {d.coder})" for n, d in registers.items())
    record = {"benchmark": "selection variants, nested", **record_header(sys.argv[1:]), "data": described, "nested": {"variants": {}}}

    def save():
        atomic_write_text(out, json.dumps(record, ensure_ascii=False, indent=2) + "\n")
        if "folds" in record.get("nested", {}) or record.get("transfer"):
            atomic_write_text(out.with_suffix(".md"), markdown_variants(record))

    def partial(name, row):
        record["nested"]["variants"][name] = row
        save()

    done = {}
    if resume and out.is_file():
        # An interrupted run's rows, where they were measured on the same data and folds.
        earlier = json.loads(out.read_text(encoding="utf-8"))
        if earlier.get("data") == record["data"]:
            done = earlier.get("nested", {}).get("variants", {})
            record["resumed"] = {name: earlier.get("resumed", {}).get(name, earlier["commit"]) for name in done}
            record["nested"]["variants"].update(done)
    if nested:
        record["nested"] = compare_nested(both, base=base, variants=variants, progress=progress, on_result=partial, done=done)
    else:
        del record["nested"]
    save()
    if transfer and len(names) == 2:
        record["transfer"] = transfer_variants(registers, base=base, variants=variants, progress=progress)
        save()
    return record
