"""Configurations compared under the same cross-validation (``autocode benchmark variants``,
docs/model-selection.md): the evidence for the one training procedure autocode keeps.

Each variant is one fixed configuration, ``fixed:FAMILY``, ``fixed:FAMILY@C`` or with
the embedding block's weight against the n-grams ``fixed:FAMILY@C:weight=W``, of a family
of :func:`families`: ``hybrid`` (the shipped configuration: e5-small, weighted 1.5,
beside word and character n-grams, C 10), ``e5`` (the e5 embedding alone, centred, with code
prototypes, C 0.02: the shipped configuration before the hybrid) and ``fast``
(configs/fast.yaml: USE beside the n-grams, C 1), and on single-label data ``manifesto``
(configs/manifesto.yaml). Every variant is measured on the same
document-grouped folds; every figure comes with its fold-to-fold standard error, and each
variant's difference to the best one with the standard error of the paired per-fold
differences, so that "not worse than the best by more than the noise" can be read off the
record. With ``sizes`` the same variants are compared on learning-curve points: each outer
fold trains on whole documents of its training part, drawn in a seeded order until the
given number of segments is reached.

The configuration selection that ``autocode train`` ran before (13 candidates, a mean of
two families, a choice per code) and the per-code choice of C were compared here too; they
lost or tied (docs/model-selection.md) and were deleted. Their rows stay in the committed
records, made at the commit each record names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from pipeline.core.config import RunConfig, load_config
from pipeline.learn.classify import make_folds
from pipeline.learn.cv import cross_validated_predictions, fit_predict, per_code_scores, shared_embeddings
from pipeline.learn.features import Featurizer
from pipeline.research.evaluate import predict_matrix

VARIANTS = ("fixed:hybrid", "fixed:e5", "fixed:fast")
FAMILY_NAMES = ("hybrid", "e5", "fast", "manifesto")


def families(base: RunConfig) -> dict[str, RunConfig]:
    """The named configurations, each with what ``base`` says of the data rather than of
    the model: its segmentation and training procedure (how hand codes become examples,
    folds, seed, threshold measure), its label mode (``classifier.labels``), and, where
    its code system comes without definitions (``base`` has prototypes and codebook
    examples off), no prototypes and no codebook examples. ``manifesto`` is the
    configuration of ``autocode benchmark manifesto`` (single-label)."""
    from pipeline.defaults import fast_config_path, manifesto_config_path

    hybrid, fast, manifesto = load_config(None), load_config(fast_config_path()), load_config(manifesto_config_path())
    e5 = replace(hybrid, features=replace(hybrid.features, lexical=False), classifier=replace(hybrid.classifier, C=0.02))
    undefined = not base.features.prototypes and not base.training.codebook_examples

    def own(config: RunConfig) -> RunConfig:
        t = base.training
        training = replace(config.training, min_examples=t.min_examples, cv_folds=t.cv_folds, min_overlap=t.min_overlap, seed=t.seed,
                           threshold_measure=t.threshold_measure, **({"codebook_examples": 0.0} if undefined else {}))
        features = replace(config.features, prototypes=0.0) if undefined else config.features
        classifier = replace(config.classifier, labels=base.classifier.labels)
        return replace(config, segment=base.segment, training=training, features=features, classifier=classifier)

    out = {"hybrid": own(hybrid), "e5": own(e5), "fast": own(fast)}
    if base.classifier.labels != "multi":  # its classifier (svm) gives no probabilities for per-code thresholds
        out["manifesto"] = own(manifesto)
    return out


def parse(name: str) -> tuple[str, float | None, float | None] | None:
    """``(family, C, embedding weight)`` of ``fixed:FAMILY[@C][:weight=W]`` (``None`` for
    what the family's configuration sets); ``None`` where ``name`` is not of that form."""
    if not name.startswith("fixed:"):
        return None
    head, colon, tail = name.removeprefix("fixed:").partition(":")
    family, at, C = head.partition("@")
    key, _, W = tail.partition("=")
    if family not in FAMILY_NAMES or (colon and key != "weight"):
        return None
    try:
        c, w = (float(C) if at else None), (float(W) if colon else None)
    except ValueError:
        return None
    if (c is not None and c <= 0) or (w is not None and w <= 0):
        return None
    return family, c, w


def variant_config(name: str, base: RunConfig) -> RunConfig:
    """The configuration of variant ``fixed:FAMILY[@C][:weight=W]``: the family's, with C
    and the embedding block's weight against the lexical block where given."""
    parsed = parse(name)
    if parsed is None:
        raise ValueError(f"unknown variant {name!r}; expected fixed:FAMILY[@C][:weight=W] with FAMILY one of {', '.join(FAMILY_NAMES)}")
    family, C, weight = parsed
    named = families(base)
    if family not in named:
        raise ValueError(f"variant {name!r} is single-label (a linear SVM without probabilities): it serves single-label data "
                         "such as --manifesto, not codes of which a segment may carry several")
    config = named[family]
    if C is not None:
        config = replace(config, classifier=replace(config.classifier, C=C))
    if weight is not None:
        config = replace(config, features=replace(config.features, embedding_weight=weight))
    return config


def known(name: str) -> bool:
    """Whether ``name`` is a variant :func:`variant_config` knows."""
    return parse(name) is not None


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
    :func:`fold_figures` and ``seconds``; then ``vs_best``: per variant the paired
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
        pred, made = cross_validated_predictions(data, config=variant_config(name, base))[:2]
        assert [t.tolist() for _, t in made.splits] == [t.tolist() for _, t in folds.splits], "variants must share the outer folds"
        row = fold_figures(data.Y, pred, made.splits, codes)
        row["seconds"] = round(time.perf_counter() - clock, 1)
        out[name] = row
        say(f"variant {name}: micro-F1 {row['micro_f1']:.3f} ± {row['se_micro_f1']}, macro-F1 {row['macro_f1']:.3f} ± {row['se_macro_f1']} "
            f"({row['seconds']:.0f} s)")
        if on_result is not None:
            on_result(name, row)
    return {"folds": folds.describe(), **versus_best(out, measure)}


def versus_best(rows: dict, measure: str = "micro") -> dict:
    """``best`` (the variant with the best pooled figure of ``measure``), the rows, and
    ``vs_best``: each row's paired difference to it with its standard error."""
    key = "micro_f1" if measure == "micro" else "macro_f1"
    best = max(rows, key=lambda n: rows[n][key])
    vs = {name: {k: dict(zip(("difference", "se"), paired(row, rows[best], k))) for k in ("micro_f1", "macro_f1")} for name, row in rows.items()}
    return {"best": best, "variants": rows, "vs_best": vs}


def documents_until(order: np.ndarray, groups: np.ndarray, size: int) -> np.ndarray:
    """The rows of whole documents, taken in ``order`` (document names) until at least
    ``size`` rows are in (all of them where there are fewer)."""
    rows, taken = [], 0
    for doc in order:
        mine = np.flatnonzero(groups == doc)
        rows.append(mine)
        taken += len(mine)
        if taken >= size:
            break
    return np.sort(np.concatenate(rows)) if rows else np.array([], dtype=int)


def learning_points(data, *, base: RunConfig, variants: Sequence[str] = VARIANTS, sizes: Sequence[int] = (50, 100, 200, 400),
                    measure: str = "micro", progress: Callable[[str], None] | None = None) -> dict:
    """Each variant trained on few segments: per size, every outer fold trains on whole
    documents of its training part (:func:`documents_until`, documents in an order drawn
    with the configured seed, the same for every variant) and codes its held-out
    documents. Returns ``{size: {"segments": mean training segments, **versus_best}}``."""
    say = progress or (lambda line: None)
    folds = make_folds(data.groups, data.Y, base.training.cv_folds, seed=base.training.seed).splits
    rng = np.random.default_rng(base.training.seed)
    orders = [rng.permutation(sorted(set(data.groups[train].tolist()))) for train, _ in folds]
    configs = {name: variant_config(name, base) for name in variants}
    keys = {name: (config.embedder, Featurizer(config.features).context) for name, config in configs.items()}
    embedded: dict = {}  # variants of one embedder (and context) share its vectors: read them once
    for name, config in configs.items():
        if keys[name] not in embedded:
            embedded[keys[name]] = shared_embeddings(data, config)
    shared = {name: embedded[keys[name]] for name in configs}
    out: dict = {}
    for size in sizes:
        subsets = [documents_until(order, data.groups, size) for order in orders]
        rows = {}
        for name, config in configs.items():
            pred = np.zeros_like(data.Y, dtype=bool)
            for (_, test), subset in zip(folds, subsets):
                pred[test] = fit_predict(data, config, subset, test, shared[name])
            rows[name] = fold_figures(data.Y, pred, folds, data.codebook.leaf_ids)
            say(f"{size} segments, {name}: micro-F1 {rows[name]['micro_f1']:.3f} ± {rows[name]['se_micro_f1']}")
        out[str(size)] = {"segments": round(float(np.mean([len(s) for s in subsets])), 1), **versus_best(rows, measure)}
    return out


def transfer_variants(registers: dict, *, base: RunConfig, variants: Sequence[str] = VARIANTS,
                      progress: Callable[[str], None] | None = None) -> dict:
    """Each variant trained on all of one register and coding the other's documents:
    ``{variant: {"a→b": {"micro_f1", "macro_f1"}, ...}}``."""
    from pipeline.learn.train import train_on

    say = progress or (lambda line: None)
    names = list(registers)
    out: dict = {}
    for name in variants:
        out[name] = {}
        for src in names:
            model = train_on(registers[src], config=variant_config(name, base))
            for dst in names:
                if dst != src:
                    target = registers[dst]
                    s = per_code_scores(target.Y, predict_matrix(model, target), target.codebook.leaf_ids)
                    out[name][f"{src}→{dst}"] = {"micro_f1": round(s["micro_f1"], 4), "macro_f1": round(s["macro_f1"], 4)}
                    say(f"variant {name}, {src}→{dst}: micro-F1 {s['micro_f1']:.3f}, macro-F1 {s['macro_f1']:.3f}")
    return out


def _row(name: str, r: dict, vs: dict | None) -> str:
    diff = (f"{vs['micro_f1']['difference']:+.3f} ± {vs['micro_f1']['se']:.3f} | {vs['macro_f1']['difference']:+.3f} ± {vs['macro_f1']['se']:.3f}"
            if vs else " | ")
    return f"| {name} | {r['micro_f1']:.3f} ± {r['se_micro_f1']:.3f} | {r['macro_f1']:.3f} ± {r['se_macro_f1']:.3f} | {diff}"


def nested_table(record: dict) -> str:
    """A row per variant: pooled figures ± fold-to-fold standard error, the paired
    difference to the best, seconds."""
    nested = record.get("nested", {})
    lines = ["| variant | micro-F1 ± SE | macro-F1 ± SE | micro vs best ± SE | macro vs best ± SE | seconds |", "|---|---:|---:|---:|---:|---:|"]
    return "\n".join(lines + [_row(n, r, nested.get("vs_best", {}).get(n)) + f" | {r['seconds']:.0f} |" for n, r in nested.get("variants", {}).items()])


def points_table(record: dict) -> str:
    """A row per learning-curve point and variant."""
    lines = ["| training segments (whole documents) | variant | micro-F1 ± SE | macro-F1 ± SE | micro vs best ± SE | macro vs best ± SE |",
             "|---|---|---:|---:|---:|---:|"]
    for size, point in record.get("learning_points", {}).items():
        lines += [f"| {size} ({point['segments']:.0f}) " + _row(n, r, point["vs_best"][n]) + " |" for n, r in point["variants"].items()]
    return "\n".join(lines)


def transfer_table(record: dict) -> str:
    """A row per variant and direction of the register transfer."""
    lines = ["| variant | direction | micro-F1 | macro-F1 |", "|---|---|---:|---:|"]
    for name, t in record.get("transfer", {}).items():
        lines += [f"| {name} | {d} | {f['micro_f1']:.3f} | {f['macro_f1']:.3f} |" for d, f in t.items()]
    return "\n".join(lines)


def markdown_variants(record: dict) -> str:
    """The record's tables (:func:`nested_table`, :func:`points_table`, :func:`transfer_table`)."""
    nested = record.get("nested", {})
    lines = [f"# Variants ({nested.get('folds', 'no nested comparison')}; {record['data']})", "",
             f"`{record['command']}` at {record.get('commit') or 'an unknown commit'}"
             + "".join(f"; {n} from an earlier run at {c[:7]}" for n, c in record.get("resumed", {}).items()), ""]
    for part, table in (("nested", nested_table), ("learning_points", points_table), ("transfer", transfer_table)):
        if record.get(part) and (part != "nested" or nested.get("variants")):
            lines += [table(record), ""]
    return "\n".join(lines)


def run_variants(corpus, out, *, variants: Sequence[str] = VARIANTS, nested: bool = True, transfer: bool = False, sizes: Sequence[int] = (),
                 resume: bool = False, germeval=None, manifesto=None, split: str = "new-documents",
                 progress: Callable[[str], None] | None = None) -> dict:
    """With ``nested``, :func:`compare_nested` on both registers of the sample corpus
    together (the default configuration's segmentation and training procedure, the default
    coder of each register); with ``sizes``, :func:`learning_points`; with ``transfer``,
    :func:`transfer_variants`. The record (:func:`pipeline.core.records.write_record`) is
    written to ``out`` (JSON) and beside it as Markdown after every variant, so a long run
    leaves what it finished; with ``resume`` the nested rows of such a record at ``out``
    (same data) are kept, and ``resumed`` names the commit each came from. With
    ``germeval`` (the germeval2021 folder) the data is GermEval 2021's official training
    file instead (each comment its own document, thresholds by the task's measure); its
    test file is not read. With ``manifesto`` (the manifesto_de_2021 folder) it is the
    training part of the Manifesto protocol's ``split`` at the code level, single-label,
    folded as ``autocode benchmark manifesto`` folds it inside training
    (:func:`pipeline.research.benchmark.fold_groups`); its test part is not read."""
    import json

    from pipeline.core.codebook import load_codebook
    from pipeline.core.io import atomic_write_text
    from pipeline.core.records import write_record
    from pipeline.defaults import codebook_path
    from pipeline.research.benchmark_transfer import combine, load_registers

    out = Path(out)
    base = load_config(None)
    if germeval is not None:
        from pipeline.research.benchmark_germeval import load_germeval, training_set

        base = replace(base, training=replace(base.training, threshold_measure="both_classes"))
        both = training_set(*load_germeval(germeval, "train"))
        registers: dict = {}
        described = f"GermEval 2021 training file ({len(both.segments)} comments, each its own document)"
    elif manifesto is not None:
        from pipeline.defaults import manifesto_config_path
        from pipeline.research.benchmark import fold_groups, labelled_training_set, load_manifesto, split_rows

        base = load_config(manifesto_config_path())
        labelled = load_manifesto(manifesto)
        train, _ = split_rows(labelled, split)
        both = labelled_training_set(list(labelled.segments), train, labelled.labels("code"), groups=fold_groups(labelled, split, train))
        registers = {}
        described = (f"Manifesto 2021, training part of the {split} split ({len(train)} quasi-sentences, {len(both.codebook.leaf_ids)} codes, "
                     "single-label)")
    else:
        registers = load_registers(corpus, codebook=load_codebook(codebook_path()), config=base)
        both = combine(*registers.values()) if len(registers) == 2 else next(iter(registers.values()))
        described = " + ".join(f"{n} ({len(d.segments)} segments, {len(set(d.groups))} documents, coder {d.coder})" for n, d in registers.items())
    record: dict = {"benchmark": "configuration variants", "data": described, "nested": {"variants": {}}}

    def save():
        written = write_record(out, record)
        atomic_write_text(out.with_suffix(".md"), markdown_variants(written))

    def partial(name, row):
        record["nested"]["variants"][name] = row
        save()

    done = {}
    if resume and out.is_file():
        # An interrupted run's rows, where they were measured on the same data and folds.
        earlier = json.loads(out.read_text(encoding="utf-8"))
        if earlier.get("data") == record["data"]:
            done = earlier.get("nested", {}).get("variants", {})
            record["resumed"] = {name: earlier.get("resumed", {}).get(name, earlier.get("commit") or "") for name in done}
            record["nested"]["variants"].update(done)
    if nested:
        record["nested"] = compare_nested(both, base=base, variants=variants, progress=progress, on_result=partial, done=done)
    else:
        del record["nested"]
    if sizes:
        record["learning_points"] = learning_points(both, base=base, variants=variants, sizes=sizes, progress=progress)
    save()
    if transfer and len(registers) == 2:
        record["transfer"] = transfer_variants(registers, base=base, variants=variants, progress=progress)
        save()
    return record
