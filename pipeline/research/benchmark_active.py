"""Benchmark of active learning: simulated coding with ``suggest``'s choice versus random.

A simulated coder starts from the same ``start`` randomly chosen coded segments, then codes
batches of ``batch`` more, chosen either by :func:`pipeline.learn.active_learning.select` (the strategy
of ``autocode suggest``) or at random, until ``stop``; the hand codes of the corpus stand
for the coder's answers. After every batch the classifier is trained on what is coded
and tested on a fixed test set. Each seed draws its own start set, shared by all
strategies, so the curves differ only by the choice of the batches.

* **Manifesto** (``../shared/data/manifesto_de_2021``, in-domain split of
  :mod:`pipeline.research.benchmark`, code level): pool = the training rows, test = rows
  ``r % 5 == 0``; single-label, accuracy and macro-F1.
* **Sample corpus** (``corpus/transcripts`` with ``corpus/codings.jsonl``, coder A, plus
  ``corpus/literature`` where it exists): multi-label under the default configuration,
  cross-validated by document (each fold's training documents are the pool, its held-out
  documents the test; the figures pool the folds' predictions).

What is fitted on texts — the word and character vocabularies with their IDF, an embedder
that learns, and with it the code prototypes — is fitted on each fold's pool
(:func:`fold_inputs`, through :func:`pipeline.learn.fit.each_fold_features`), never on the
fold's test rows, whose figures are reported. The pool's uncoded segments take part: they
are texts the researcher has at hand before coding any (the fit reads no codes). A real
round of ``suggest`` fits on the coded segments alone; fitting per round as it does would
cost a featurisation per round, fold, seed and strategy instead of one per fold, and would
change only which of the pool's own words are known, in both arms alike. The thresholds'
inner folds read the fold's features instead of fitting their own as ``train`` does: that
may move a threshold, never the test rows' features. Document centering
(``features.center``) is fitted on nothing: each document is centered on its own segments
when transformed, as ``autocode classify`` centers a document it codes.
"""

from __future__ import annotations

import os
import platform
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.learn.active_learning import DEFAULT_STRATEGY, get_strategy, select


@dataclass(frozen=True)
class Task:
    """A labelled corpus ready for simulation, with the inputs of each fold.

    Attributes:
        X: Per fold, the features of all rows, shape (n_rows, n_features) (ndarray or
            CSR), fitted on that fold's pool only (one shared matrix where nothing is fitted).
        E: Per fold, the embeddings of all rows for diversity, shape (n_rows, dim).
        Y: bool ndarray of shape (n_rows, n_codes).
        documents: ndarray of shape (n_rows,), the document of each row.
        codes: The code of each column.
        single: Single-label (exactly one code per row).
        config: The run configuration (classifier and thresholds).
    """

    X: tuple
    E: tuple
    Y: np.ndarray
    documents: np.ndarray
    codes: tuple[str, ...]
    single: bool
    config: RunConfig


def _fit(task: Task, X, rows: np.ndarray):
    from pipeline.learn.classify import fit_with_thresholds

    cfg = task.config
    return fit_with_thresholds(X[rows], task.Y[rows], task.documents[rows], config=cfg.classifier, seed=cfg.training.seed, cv_folds=cfg.training.cv_folds)


def scores(task: Task, truth: np.ndarray, pred: np.ndarray) -> dict:
    """Macro-F1 and accuracy. Single-label: scikit-learn's macro-F1 over the codes present
    in truth or prediction (the Manifesto protocol); multi-label: the mean F1 of the codes
    with true segments (:func:`pipeline.learn.cv.per_code_scores`), accuracy = exact match."""
    if task.single:
        from sklearn.metrics import accuracy_score, f1_score

        t, p = truth.argmax(axis=1), pred.argmax(axis=1)
        return {"macro_f1": float(f1_score(t, p, average="macro", zero_division=0)), "accuracy": float(accuracy_score(t, p))}
    from pipeline.learn.cv import per_code_scores

    return {"macro_f1": per_code_scores(truth, pred, task.codes)["macro_f1"], "accuracy": float((truth == pred).all(axis=1).mean())}


def simulate(
    task: Task,
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    strategy: str,
    seed: int,
    start: int,
    batch: int,
    stop: int,
) -> list[dict]:
    """One simulated coder: ``start`` random rows of each fold's pool, then batches.

    Args:
        folds: (pool rows, test rows) pairs; predictions on the test rows are pooled.
        strategy: A name in :data:`pipeline.learn.active_learning.STRATEGIES`.

    Returns:
        One point per budget: ``coded``, ``macro_f1``, ``accuracy``, ``fit_seconds``
        (mean per fold), ``select_seconds`` (scoring the pool and choosing, mean per fold).
    """
    if len(task.X) != len(folds) or len(task.E) != len(folds):
        raise ValueError(f"the task holds inputs for {len(task.X)} fold(s), but {len(folds)} fold(s) were given; "
                         "build task and folds together (sample_task, manifesto_task).")
    chosen = get_strategy(strategy)
    coded = [np.sort(np.random.default_rng([seed, f]).choice(pool, size=min(start, len(pool)), replace=False)) for f, (pool, _) in enumerate(folds)]
    budgets = list(range(start, stop + 1, batch))
    points = []
    for step, budget in enumerate(budgets):
        pred = np.zeros_like(task.Y)
        tested = np.zeros(len(task.Y), dtype=bool)
        fit_s = select_s = 0.0
        for f, (pool, test) in enumerate(folds):
            X, E = task.X[f], task.E[f]
            t0 = time.perf_counter()
            model = _fit(task, X, coded[f])
            pred[test] = model.predict(X[test]).astype(bool)
            tested[test] = True
            fit_s += time.perf_counter() - t0
            if step + 1 == len(budgets):
                continue
            t0 = time.perf_counter()
            left = np.setdiff1d(pool, coded[f])
            # The random baseline ignores the scores: do not spend time computing them.
            proba = np.zeros((len(left), len(task.codes))) if chosen.random else model.predict_proba(X[left])
            picks = select(
                proba,
                n=batch,
                codes=task.codes,
                thresholds=model.thresholds_,
                single=task.single,
                embeddings=E[left],
                coded_embeddings=E[coded[f]],
                documents=task.documents[left],
                code_counts=task.Y[coded[f]].sum(axis=0),
                document_counts=Counter(task.documents[coded[f]].tolist()),
                strategy=chosen,
                seed=seed * 10_007 + step,
            )
            coded[f] = np.sort(np.concatenate([coded[f], left[[p.index for p in picks]]]))
            select_s += time.perf_counter() - t0
        point = {"coded": budget, **scores(task, task.Y[tested], pred[tested])}
        point.update({"fit_seconds": round(fit_s / len(folds), 3), "select_seconds": round(select_s / len(folds), 3) if step + 1 < len(budgets) else None})
        points.append(point)
    return points


def summarise(runs: dict[str, dict[int, list[dict]]]) -> dict:
    """Mean and spread (standard deviation; min, max) over seeds per strategy and budget."""
    out: dict = {"mean": {}, "std": {}, "min": {}, "max": {}, "accuracy": {}, "select_seconds": {}, "fit_seconds": {}}
    for name, by_seed in runs.items():
        curves = list(by_seed.values())
        for key in ("mean", "std", "min", "max", "accuracy"):
            out[key][name] = {}
        for i, point in enumerate(curves[0]):
            f1 = np.array([c[i]["macro_f1"] for c in curves])
            n = str(point["coded"])
            out["mean"][name][n] = round(float(f1.mean()), 4)
            out["std"][name][n] = round(float(f1.std()), 4)
            out["min"][name][n] = round(float(f1.min()), 4)
            out["max"][name][n] = round(float(f1.max()), 4)
            out["accuracy"][name][n] = round(float(np.mean([c[i]["accuracy"] for c in curves])), 4)
        sel = [p["select_seconds"] for c in curves for p in c if p["select_seconds"] is not None]
        out["select_seconds"][name] = round(float(np.mean(sel)), 3) if sel else None
        out["fit_seconds"][name] = round(float(np.mean([p["fit_seconds"] for c in curves for p in c])), 3)
    return out


def run_task(task: Task, folds, *, strategies: Sequence[str], seeds: Sequence[int], start: int, batch: int, stop: int, on_curve: Callable[[str, int, list[dict]], None] | None = None) -> dict:
    """Every strategy with every seed; returns :func:`summarise`'s dict plus ``runs``."""
    runs: dict[str, dict[int, list[dict]]] = {}
    for name in strategies:
        for seed in seeds:
            curve = simulate(task, folds, strategy=name, seed=seed, start=start, batch=batch, stop=stop)
            runs.setdefault(name, {})[seed] = curve
            if on_curve is not None:
                on_curve(name, seed, curve)
    out = summarise(runs)
    out["runs"] = {name: {str(s): c for s, c in by_seed.items()} for name, by_seed in runs.items()}
    out["protocol"] = {"start": start, "batch": batch, "stop": stop, "seeds": list(seeds), "folds": len(folds)}
    return out


# --- the corpora -----------------------------------------------------------------------------


def fold_inputs(config: RunConfig, data, folds) -> tuple[tuple, tuple]:
    """Per fold, the features (:func:`pipeline.learn.fit.each_fold_features`) and the
    diversity embeddings of all rows of ``data``, each fitted on the fold's pool alone.

    What fits nothing (a pretrained encoder, no lexical block) is computed once and shared
    by the folds, so that only what must be per fold costs per fold.

    Args:
        data: A :class:`pipeline.learn.fit.TrainingSet`, one row per simulated row.
        folds: ``(pool rows, test rows)`` pairs, indices into ``data.segments``.

    Returns:
        ``(X, E)``: tuples with one matrix per fold, as :class:`Task` holds them.
    """
    from pipeline.learn.cv import shared_embeddings
    from pipeline.learn.embed import make_embedder
    from pipeline.learn.features import embed_segments
    from pipeline.learn.fit import each_fold_features

    X = tuple(x for x, _ in each_fold_features(config, data, folds, shared_embeddings(data, config)))
    if not make_embedder(config.embedder, cache=False).trainable:
        E = embed_segments(make_embedder(config.embedder), data.segments, context=0)
        return X, (E,) * len(folds)
    Es = []
    for pool, _ in folds:
        embedder = make_embedder(config.embedder).fit([data.segments[i].text for i in pool])
        Es.append(embed_segments(embedder, data.segments, context=0))
    return X, tuple(Es)


def manifesto_task(folder: str | Path, *, config: RunConfig, limit_per_document: int = 0) -> tuple[Task, list[tuple[np.ndarray, np.ndarray]]]:
    """The Manifesto corpus, in-domain split, code level, under ``config`` (single-label):
    one fold whose pool is the training rows, features fitted on them (:func:`fold_inputs`)."""
    from pipeline.core.codebook import Codebook
    from pipeline.learn.fit import TrainingSet
    from pipeline.research.benchmark import load_manifesto, split_rows

    corpus = load_manifesto(folder, limit_per_document=limit_per_document)
    train, test = split_rows(corpus, "in-domain")
    book = Codebook.from_ids(corpus.codes.tolist(), name="Manifesto codes")
    codes = book.leaf_ids
    Y = corpus.codes[:, None] == np.array(codes)[None, :]
    data = TrainingSet(corpus.segments, Y, np.array([s.transcript for s in corpus.segments]), book, "")
    folds = [(train, test)]
    X, E = fold_inputs(config, data, folds)
    config = replace(config, classifier=replace(config.classifier, labels="single"))
    return Task(X, E, Y, data.groups, codes, True, config), folds


def sample_task(corpus: str | Path, *, config: RunConfig, coder: str = "A") -> tuple[Task, list[tuple[np.ndarray, np.ndarray]]]:
    """The sample corpus (interviews, literature where present) under ``config``, folds
    grouped by document, features fitted per fold on its pool (:func:`fold_inputs`)."""
    from pipeline.core.codebook import Codebook, load_codebook
    from pipeline.core.errors import CodebookError
    from pipeline.defaults import codebook_path
    from pipeline.learn.classify import make_folds
    from pipeline.learn.fit import build_training_set
    from pipeline.text.codings import read_hand_codes

    corpus = Path(corpus)
    coded = [p for p in (corpus / "codings.jsonl", corpus / "literature" / "codings.jsonl") if p.is_file()]
    texts = [p for p in (corpus / "transcripts", corpus / "literature") if p.is_dir()]
    # The shipped code system where the corpus uses its codes (the sample corpus), else
    # the codes found.
    try:
        book = load_codebook(codebook_path())
        hand = read_hand_codes(coded, codebook=book, texts=texts)
    except CodebookError:
        hand = read_hand_codes(coded, texts=texts)
        book = Codebook.from_ids(sorted({c.code for c in hand.codings}))
    data = build_training_set(hand, codebook=book, config=config, coder=coder)
    folds = make_folds(data.groups, data.Y, config.training.cv_folds, seed=config.training.seed).splits
    X, E = fold_inputs(config, data, folds)
    return Task(X, E, data.Y, data.groups, data.codebook.leaf_ids, config.classifier.labels == "single", config), folds


def time_suggest_round(folder: str | Path, *, config: RunConfig, pool_size: int = 20_000, coded: int = 1_000, n: int = 50, seed: int = 0, work: str | Path) -> dict:
    """Seconds of one real ``suggest`` round (train on ``coded`` Manifesto sentences, score
    a pool of ``pool_size`` uncoded segments, choose ``n``), measured on the second of two
    runs so that every embedding is cached ("after embedding").

    The pool is the Manifesto sentences not coded, topped up with pairs of consecutive
    sentences joined into one segment; written as unit files, one per party, into ``work``.
    """
    import csv

    from pipeline.research.active import suggest
    from pipeline.research.benchmark import load_manifesto

    corpus = load_manifesto(folder)
    work = Path(work)
    work.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    m = len(corpus.segments)
    picked = set(rng.choice(m, size=coded, replace=False).tolist())
    with open(work / "coded.csv", "w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "text", "codes", "coder"])
        for i in sorted(picked):
            w.writerow([corpus.segments[i].id, corpus.segments[i].text, corpus.codes[i], "A"])
    rows: dict[str, list[tuple[str, str]]] = {}
    for i, s in enumerate(corpus.segments):
        if i not in picked:
            rows.setdefault(s.transcript, []).append((s.id, s.text))
    extra = pool_size - sum(len(v) for v in rows.values())
    for i in range(max(extra, 0)):
        a = corpus.segments[2 * i % (m - 1)]
        b = corpus.segments[2 * i % (m - 1) + 1]
        rows.setdefault(a.transcript, []).append((f"pair{i}", f"{a.text} {b.text}"))
    (work / "pool").mkdir(exist_ok=True)
    for party, items in rows.items():
        with open(work / "pool" / f"{party}.csv", "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["id", "text"])
            w.writerows(items)
    config = replace(config, classifier=replace(config.classifier, labels="single"))
    runs = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = suggest([work / "coded.csv"], [work / "pool"], n=n, config=config, seed=seed)
        runs.append({"seconds": round(time.perf_counter() - t0, 2), "parts": result.seconds, "pool": result.pool})
    return {"pool_segments": runs[-1]["pool"], "coded": coded, "n": n, "first_run": runs[0], "second_run": runs[1]}


def run_active_benchmark(
    data: str | Path | None,
    *,
    manifesto_config: RunConfig,
    sample_config: RunConfig,
    corpus: str | Path | None = None,
    strategies: Sequence[str] = ("random", DEFAULT_STRATEGY),
    seeds: Sequence[int] = (0, 1, 2),
    start: int = 200,
    batch: int = 100,
    stop: int = 3000,
    sample_start: int = 100,
    sample_batch: int = 100,
    time_round: bool = True,
    work: str | Path | None = None,
    on_curve: Callable[[str, str, int, list[dict]], None] | None = None,
    on_part: Callable[[dict], None] | None = None,
) -> dict:
    """The whole benchmark; see the module docstring. Returns the report dict whose
    ``random``/``active`` keys hold the Manifesto means (``active`` = the first
    non-random strategy). ``on_part`` is called with the report so far after each
    corpus's curves, so that a caller can save them before the next, long part."""
    report: dict = {
        "benchmark": "active learning",
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "strategies": list(strategies),
    }
    t0 = time.perf_counter()
    if data is not None:
        task, folds = manifesto_task(data, config=manifesto_config)
        report["manifesto_features_seconds"] = round(time.perf_counter() - t0, 1)
        cb = (lambda s, seed, c: on_curve("manifesto", s, seed, c)) if on_curve else None
        report["manifesto"] = run_task(task, folds, strategies=strategies, seeds=seeds, start=start, batch=batch, stop=stop, on_curve=cb)
        report["manifesto"]["config"] = manifesto_config.to_dict()
        active = next(s for s in strategies if s != "random")
        report["random"] = report["manifesto"]["mean"].get("random", {})
        report["active"] = report["manifesto"]["mean"][active]
        report["active_strategy"] = active
        if on_part is not None:
            on_part(report)
    if corpus is not None and Path(corpus, "codings.jsonl").is_file():
        task, folds = sample_task(corpus, config=sample_config)
        pool = min(len(p) for p, _ in folds)
        cb = (lambda s, seed, c: on_curve("sample", s, seed, c)) if on_curve else None
        report["sample"] = run_task(task, folds, strategies=strategies, seeds=seeds, start=sample_start, batch=sample_batch, stop=pool, on_curve=cb)
        report["sample"]["segments"] = int(len(task.Y))
        if on_part is not None:
            on_part(report)
    if time_round and data is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            report["suggest_round"] = time_suggest_round(data, config=manifesto_config, work=work or tmp)
    report["seconds"] = round(time.perf_counter() - t0, 1)
    return report


def markdown_table(report: dict) -> str:
    """Mean macro-F1 (± standard deviation over seeds) per budget and strategy."""
    lines = []
    for corpus in ("manifesto", "sample"):
        if corpus not in report:
            continue
        part = report[corpus]
        names = list(part["mean"])
        budgets = list(part["mean"][names[0]])
        lines += ["", f"{corpus}: macro-F1 by coded segments (mean ± sd over seeds {part['protocol']['seeds']})", ""]
        lines.append("| coded | " + " | ".join(names) + " |")
        lines.append("|---:|" + "---:|" * len(names))
        for b in budgets:
            lines.append(f"| {b} | " + " | ".join(f"{part['mean'][s][b]:.3f} ± {part['std'][s][b]:.3f}" for s in names) + " |")
        lines.append("")
        lines.append("seconds per round (score pool + choose): " + ", ".join(f"{s} {part['select_seconds'][s]}" for s in names))
    if "suggest_round" in report:
        r = report["suggest_round"]
        lines.append(f"\none suggest round on {r['pool_segments']} pool segments after embedding: {r['second_run']['seconds']} s ({r['second_run']['parts']})")
    return "\n".join(lines).lstrip("\n") + "\n"


def write_report(report: dict, out_dir: str | Path) -> Path:
    """OUT/active.json (a record: the figures with the command, commit and package
    versions that made them), OUT/active.md and, with curves, OUT/active.svg."""
    from pipeline.core.io import atomic_write_text
    from pipeline.core.records import write_record

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "active.json"
    write_record(path, report)
    atomic_write_text(out_dir / "active.md", markdown_table(report))
    if any(c in report for c in ("manifesto", "sample")):
        atomic_write_text(out_dir / "active.svg", svg_plot(report))
    return path


COLOURS = {"random": "#757575", "balanced": "#1565c0", "uncertainty": "#2e7d32", "diverse": "#ef6c00", "rare": "#6a1b9a"}


def svg_plot(report: dict, *, width: int = 720, height: int = 300) -> str:
    """The learning curves as a self-contained SVG: one panel per corpus, mean macro-F1
    per strategy with a band from the lowest to the highest seed."""
    panels = [c for c in ("manifesto", "sample") if c in report]
    pw = width // max(len(panels), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">',
             f'<rect width="{width}" height="{height}" fill="white"/>']
    for k, corpus in enumerate(panels):
        part = report[corpus]
        names = list(part["mean"])
        xs = sorted({int(b) for s in names for b in part["mean"][s]})
        lo_y = min(part["min"][s][b] for s in names for b in part["min"][s])
        hi_y = max(part["max"][s][b] for s in names for b in part["max"][s])
        lo_y, hi_y = np.floor(lo_y * 20) / 20, np.ceil(hi_y * 20) / 20
        x0, x1, y0, y1 = k * pw + 50, (k + 1) * pw - 15, height - 40, 30

        def X(v, x0=x0, x1=x1):
            return x0 + (v - xs[0]) / max(xs[-1] - xs[0], 1) * (x1 - x0)

        def Y(v, y0=y0, y1=y1, lo=lo_y, hi=hi_y):
            return y0 - (v - lo) / max(hi - lo, 1e-9) * (y0 - y1)

        title = "Manifesto, in-domain, code level" if corpus == "manifesto" else "sample corpus, CV by document"
        parts.append(f'<text x="{(x0 + x1) / 2:.0f}" y="16" text-anchor="middle" font-weight="bold">{title}</text>')
        parts.append(f'<line x1="{x0}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="black"/><line x1="{x0}" y1="{y0}" x2="{x0}" y2="{y1}" stroke="black"/>')
        for t in np.arange(lo_y, hi_y + 1e-9, 0.05):
            parts.append(f'<line x1="{x0}" y1="{Y(t):.1f}" x2="{x1}" y2="{Y(t):.1f}" stroke="#eeeeee"/><text x="{x0 - 4}" y="{Y(t) + 4:.1f}" text-anchor="end">{t:.2f}</text>')
        step = max(1, len(xs) // 6)
        for v in xs[::step] + ([xs[-1]] if (len(xs) - 1) % step else []):
            parts.append(f'<text x="{X(v):.1f}" y="{y0 + 14}" text-anchor="middle">{v}</text>')
        parts.append(f'<text x="{(x0 + x1) / 2:.0f}" y="{height - 8}" text-anchor="middle">coded segments</text>')
        parts.append(f'<text x="12" y="{(y0 + y1) / 2:.0f}" transform="rotate(-90 12 {(y0 + y1) / 2:.0f})" text-anchor="middle">macro-F1</text>' if k == 0 else "")
        for j, s in enumerate(names):
            colour = COLOURS.get(s, "#000000")
            bs = sorted(part["mean"][s], key=int)
            band = [(X(int(b)), Y(part["max"][s][b])) for b in bs] + [(X(int(b)), Y(part["min"][s][b])) for b in reversed(bs)]
            parts.append(f'<polygon points="{" ".join(f"{a:.1f},{c:.1f}" for a, c in band)}" fill="{colour}" fill-opacity="0.15" stroke="none"/>')
            line = " ".join(f"{X(int(b)):.1f},{Y(part['mean'][s][b]):.1f}" for b in bs)
            parts.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts.append(f'<rect x="{x1 - 90}" y="{y0 - 16 - 14 * j}" width="10" height="3" fill="{colour}"/><text x="{x1 - 76}" y="{y0 - 12 - 14 * j}">{s}</text>')
    parts.append("</svg>")
    return "\n".join(p for p in parts if p) + "\n"
