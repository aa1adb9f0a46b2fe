"""Quality benchmark on a real hand-coded corpus, against the peer every user knows.

The corpus is the Manifesto Project's German 2021 quasi-sentences (``../shared/data/
manifesto_de_2021``, not shipped): each row one quasi-sentence, in document order per
party, with one MARPOR code. The protocol follows that folder's README exactly:

* splits: ``in-domain`` (test = rows ``r % 5 == 0``), ``new-documents`` (test = the
  parties ``spd`` and ``afd``);
* levels: ``code`` (the label) and ``domain`` (the 13 policy domains of
  ``grouping_info.txt``; a heading ``H`` stays its own class);
* metrics: accuracy and macro-F1 (scikit-learn's ``f1_score(average="macro")``);
* peer: word 1–2-gram + char_wb 2–5-gram TF-IDF (sublinear tf, min_df 2) with
  ``LinearSVC(C=0.5, class_weight="balanced")`` — what NVivo-style autocoding and most
  users would do.

autocode is trained and applied through the code path of ``autocode train`` and
``autocode classify`` (:func:`pipeline.learn.train.train_on`, :meth:`Model.code_segments` on
whole documents), so every figure is one a user gets. Each (split, level, method) job
runs in a forked child process, so that its peak memory is its own. Embeddings come from
the embedding cache (a slow encoder embeds the corpus once, not once per job), so
autocode's training time is that of features and classifier; its throughput is measured
apart, as segments per second coding 300 segments of a test document in order with an
uncached embedder after start-up. The peer's throughput is its test set's.
"""

from __future__ import annotations

import csv
import multiprocessing
import os
import platform
import re
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipeline.core.config import RunConfig
from pipeline.core.errors import InputError, InputPathError
from pipeline.core.types import Segment

SPLITS = ("in-domain", "new-documents")
LEVELS = ("code", "domain")
METHODS = ("autocode", "peer")
TEST_PARTIES = ("spd", "afd")


@dataclass(frozen=True)
class LabelledCorpus:
    """Segments in document order with one code each.

    Attributes:
        segments: One per row, ``transcript`` = the document (party), in file order.
        codes: ndarray of str, shape (n_segments,), the code of each segment.
        domains: ndarray of str, shape (n_segments,), the domain of each code.
    """

    segments: tuple[Segment, ...]
    codes: np.ndarray
    domains: np.ndarray

    def labels(self, level: str) -> np.ndarray:
        return self.codes if level == "code" else self.domains


def _code_key(label: str) -> str:
    """'204', '204.0' and ' 204.0 ' are the same MARPOR code."""
    label = label.strip()
    try:
        return f"{float(label):g}"
    except ValueError:
        return label


def read_grouping(path: Path) -> dict[str, str]:
    """``grouping_info.txt``: a domain name line, then its ``code - title`` lines."""
    domains: dict[str, str] = {}
    current = None
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        match = re.match(r"^(\S+)\s+-\s+", line)
        if match and re.match(r"^\d", match.group(1)):
            if current is None:
                raise InputError(f"{path}:{lineno}: code {match.group(1)} comes before any domain name line.")
            domains[_code_key(match.group(1))] = current
        else:
            current = line
    return domains


def load_manifesto(folder: str | Path, *, limit_per_document: int = 0) -> LabelledCorpus:
    """Read ``manifestos_2021.csv`` and ``grouping_info.txt`` from ``folder``.

    Args:
        limit_per_document: Keep only the first this many rows of each party (0: all);
            for quick checks, not for reported figures.
    """
    folder = Path(folder)
    table, grouping = folder / "manifestos_2021.csv", folder / "grouping_info.txt"
    for path in (table, grouping):
        if not path.is_file():
            raise InputPathError(
                f"{path} not found: --data must be the manifesto_de_2021 folder with manifestos_2021.csv "
                "and grouping_info.txt (see ../shared/data/README.md)."
            )
    domains = read_grouping(grouping)
    segments, codes, doms = [], [], []
    seen: dict[str, int] = {}
    with open(table, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = {"text", "label", "party"} - set(reader.fieldnames or ())
        if missing:
            raise InputError(f"{table}: columns {', '.join(sorted(missing))} missing; found {', '.join(reader.fieldnames or ())}.")
        for r, row in enumerate(reader):
            party, label = row["party"].strip(), row["label"].strip()
            n = seen.get(party, 0)
            seen[party] = n + 1
            if limit_per_document and n >= limit_per_document:
                continue
            key = _code_key(label)
            if key != "H" and key not in domains:
                raise InputError(f"{table}: row {r} has code {label!r}, which {grouping.name} does not list.")
            text = row["text"]
            segments.append(Segment(id=f"r{r}", transcript=party, start=0, end=len(text), speaker="", text=text, role="text"))
            codes.append(key)
            doms.append("H" if key == "H" else domains[key])
    return LabelledCorpus(tuple(segments), np.array(codes), np.array(doms))


def split_rows(corpus: LabelledCorpus, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(train, test) row indices of a protocol split."""
    n = len(corpus.segments)
    if split == "in-domain":
        # The row number r of the protocol is the position among all data rows; ids keep it.
        r = np.array([int(s.id[1:]) for s in corpus.segments])
        test = r % 5 == 0
    elif split == "new-documents":
        test = np.isin([s.transcript for s in corpus.segments], TEST_PARTIES)
    else:
        raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return np.flatnonzero(~test), np.flatnonzero(test) if n else np.array([], dtype=int)


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(y_true) | set(y_pred))
    per = f1_score(y_true, y_pred, average=None, labels=labels, zero_division=0)
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
        "per_code_f1": {lab: round(float(f), 4) for lab, f in zip(labels, per)},
    }


def fit_peer(texts_train: list[str], y_train: np.ndarray, *, seed: int):
    """The peer baseline of the protocol; returns a ``predict(texts) -> labels`` function."""
    import scipy.sparse as sp
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    word = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)
    X = sp.hstack([word.fit_transform(texts_train), char.fit_transform(texts_train)]).tocsr()
    clf = LinearSVC(C=0.5, class_weight="balanced", random_state=seed).fit(X, y_train)
    return lambda texts: clf.predict(sp.hstack([word.transform(texts), char.transform(texts)]).tocsr())


def labelled_training_set(segments: list[Segment], train_rows: np.ndarray, y: np.ndarray, *, groups: np.ndarray | None = None):
    """The :class:`pipeline.learn.fit.TrainingSet` of ``train_rows`` with one label each
    (``y``), its code system the labels they carry; every document in order is its
    context. ``groups``: see :func:`fit_autocode`."""
    from pipeline.core.codebook import Codebook
    from pipeline.learn.fit import TrainingSet

    codebook = Codebook.from_ids(sorted(set(y[train_rows])), name="labels of the training rows")
    Y = y[train_rows][:, None] == np.array(codebook.leaf_ids)[None, :]
    return TrainingSet(
        tuple(segments[i] for i in train_rows),
        Y,
        np.array([segments[i].transcript for i in train_rows]) if groups is None else np.asarray(groups),
        codebook,
        "",
        tuple(segments),
        np.asarray(train_rows),
    )


def fit_autocode(segments: list[Segment], train_rows: np.ndarray, y: np.ndarray, *, config: RunConfig, groups: np.ndarray | None = None):
    """autocode trained as ``autocode train`` trains (:func:`pipeline.learn.train.train_on`) on
    ``train_rows``, under ``config`` (single-label).

    The training set's context is every document in order, so that context features read
    each segment's neighbours (their texts, never their labels). ``groups`` (one per training
    row; default: its document) decides the training's inner folds: what one fold holds out
    should be what the test holds out (:func:`fold_groups`).

    Returns:
        ``(model, predict)``: the :class:`pipeline.learn.model.Model`, and ``predict(rows) ->
        (labels, n_coded)``, which codes the whole documents holding ``rows`` as
        ``autocode classify`` does (:meth:`Model.code_segments`) and returns the labels
        of ``rows`` and how many segments were coded to get them.
    """
    from pipeline.learn.train import train_on

    model = train_on(labelled_training_set(segments, train_rows, y, groups=groups), config=config)

    def predict(rows):
        from pipeline.research.evaluate import code_documents

        docs = {segments[i].transcript for i in rows}
        coded = [s for s in segments if s.transcript in docs]
        by_id = code_documents(model, coded)
        return np.array([by_id[segments[i].transcript, segments[i].id][0] for i in rows]), len(coded)

    return model, predict


def uncached(model):
    """``model`` with embedders that compute every vector (no embedding cache), weights
    loaded: what a first run on new text costs."""
    from dataclasses import replace

    from pipeline.learn.embed import make_embedder

    if not model.embedder.trainable:
        model = replace(model, embedder=make_embedder(model.config.embedder, cache=False))
    model.embedder.encode(["Aufwärmen."])  # loading the weights is start-up, not coding
    return model


def _uncached_speed(model, segments: list[Segment], rows: np.ndarray, n: int = 300) -> float:
    """Segments per second coding ``n`` segments of the first test document in order with
    an uncached embedder (after start-up): the speed of a first run on new text."""
    doc = segments[int(rows[0])].transcript
    part = [s for s in segments if s.transcript == doc][:n]
    model = uncached(model)
    start = time.perf_counter()
    model.code_segments(part)
    return len(part) / (time.perf_counter() - start)


def fold_groups(corpus: LabelledCorpus, split: str, rows: np.ndarray) -> np.ndarray:
    """The group of each training row for the training's inner folds, mirroring the split's test:
    new-documents holds out whole manifestos, so a fold holds out whole manifestos (grouped
    by party); in-domain holds out single sentences of known manifestos (every fifth), so
    each sentence is its own group and every fold holds out sentences whose neighbours and
    manifesto the training folds know."""
    if split == "in-domain":
        return np.array([corpus.segments[i].id for i in rows])
    return np.array([corpus.segments[i].transcript for i in rows])


def _job(method: str, corpus: LabelledCorpus, split: str, level: str, config: RunConfig) -> dict:
    train, test = split_rows(corpus, split)
    y = corpus.labels(level)
    seed = config.training.seed
    texts = [s.text for s in corpus.segments]
    start = time.perf_counter()
    if method == "peer":
        predict = fit_peer([texts[i] for i in train], y[train], seed=seed)
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        pred, coded = predict([texts[i] for i in test]), len(test)
        classify_s = time.perf_counter() - start
        rate = coded / classify_s if classify_s > 0 else None
    else:
        model, predict = fit_autocode(list(corpus.segments), train, y, config=config, groups=fold_groups(corpus, split, train))
        train_s = time.perf_counter() - start
        start = time.perf_counter()
        pred, coded = predict(test)
        classify_s = time.perf_counter() - start
        rate = _uncached_speed(model, list(corpus.segments), test)
    result = _scores(y[test], np.asarray(pred))
    result.update(
        {
            "train_segments": int(len(train)),
            "test_segments": int(len(test)),
            "train_seconds": round(train_s, 2),
            "classify_seconds": round(classify_s, 2),
            "coded_segments": int(coded),
            "segments_per_second": round(rate, 1) if rate else None,
            "peak_memory_mib": round(_peak_rss_mib(), 1),
        }
    )
    return result


def in_child(func: Callable[[], dict]) -> dict:
    """Run ``func`` in a forked process (its own peak memory); return its result."""
    ctx = multiprocessing.get_context("fork")
    parent, child = ctx.Pipe(duplex=False)

    def target():
        try:
            child.send(("ok", func()))
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            child.send(("error", f"{type(exc).__name__}: {exc}"))

    proc = ctx.Process(target=target)
    proc.start()
    status, payload = parent.recv()
    proc.join()
    if status != "ok":
        raise RuntimeError(payload)
    return payload


RATIO_KEYS = ("accuracy", "macro_f1", "train_seconds", "segments_per_second", "peak_memory_mib")


def run_benchmark(
    corpus: LabelledCorpus,
    *,
    config: RunConfig,
    splits: tuple[str, ...] = SPLITS,
    levels: tuple[str, ...] = LEVELS,
    isolate: bool = True,
    client=None,
    on_result: Callable[[str, str, str, dict], None] | None = None,
) -> dict:
    """Train and test autocode and the peer on every split and level.

    Returns:
        ``{"results": {split: {level: {"autocode": {...}, "peer": {...}, "ratio": {...}}}}, ...}``
        with accuracy, macro_f1, per_code_f1, train_seconds, segments_per_second,
        peak_memory_mib per method, and autocode / peer for each figure under ``ratio``.
    """
    results: dict = {}
    jobs = [(split, level, method) for split in splits for level in levels for method in METHODS]
    done: dict[tuple[str, str, str], dict] = {}
    if client is not None:
        # One task a job on a Dask cluster; a job's peak memory is then its worker
        # process's peak so far (a worker may have run other jobs before).
        futures = {client.submit(_job, m, corpus, sp, lv, config, pure=False, key=f"benchmark-{sp}-{lv}-{m}"): (sp, lv, m) for sp, lv, m in jobs}
        from distributed import as_completed

        for future in as_completed(futures):
            done[futures[future]] = future.result()
            if on_result is not None:
                on_result(*futures[future], done[futures[future]])
    else:
        for sp, lv, m in jobs:
            job = lambda m=m, sp=sp, lv=lv: _job(m, corpus, sp, lv, config)  # noqa: E731
            done[(sp, lv, m)] = in_child(job) if isolate else job()
            if on_result is not None:
                on_result(sp, lv, m, done[(sp, lv, m)])
    for split in splits:
        for level in levels:
            row = {m: done[(split, level, m)] for m in METHODS}
            row["ratio"] = {
                k: (round(row["autocode"][k] / row["peer"][k], 3) if row["peer"].get(k) else None) for k in RATIO_KEYS
            }
            results.setdefault(split, {})[level] = row
    return {
        "benchmark": "manifesto_de_2021",
        "protocol": "../shared/data/README.md: in-domain r%5==0, new-documents spd+afd; levels code, domain",
        "segments": len(corpus.segments),
        "config": config.to_dict(),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
        "results": results,
    }


def markdown_table(report: dict) -> str:
    """The benchmark as Markdown: one summary table, then per-code F1 per split."""
    lines = [
        "# autocode vs. TF-IDF + LinearSVC peer — Manifesto Project, German 2021",
        "",
        f"{report['segments']} quasi-sentences; protocol: {report['protocol']}.",
        "",
        "| split | level | method | accuracy | macro-F1 | train s | segments/s | peak MiB |",
        "|---|---|---|---:|---:|---:|---:|---:|",
    ]
    for split, levels in report["results"].items():
        for level, row in levels.items():
            for method in (*METHODS, "ratio"):
                r = row[method]
                label = "autocode / peer" if method == "ratio" else method

                def fmt(key, spec):
                    v = r.get(key)
                    return "" if v is None else format(v, ".2f" if method == "ratio" else spec)

                lines.append(
                    f"| {split} | {level} | {label} | {fmt('accuracy', '.3f')} | {fmt('macro_f1', '.3f')} | "
                    f"{fmt('train_seconds', '.1f')} | {fmt('segments_per_second', '.0f')} | {fmt('peak_memory_mib', '.0f')} |"
                )
    for split, levels in report["results"].items():
        for level, row in levels.items():
            ours, peer = row["autocode"]["per_code_f1"], row["peer"]["per_code_f1"]
            lines += ["", f"## Per-{level} F1, {split}", "", f"| {level} | autocode | peer |", "|---|---:|---:|"]
            for lab in sorted(set(ours) | set(peer)):
                lines.append(f"| {lab} | {ours.get(lab, 0):.2f} | {peer.get(lab, 0):.2f} |")
    return "\n".join(lines) + "\n"


def write_report(report: dict, out_dir: str | Path, *, markdown=None) -> tuple[Path, Path]:
    """Write OUT/benchmark.json (a record: the figures with the command, commit and
    package versions that made them, :func:`pipeline.core.records.write_record`) and
    OUT/benchmark.md (atomically); ``markdown`` renders the report as Markdown (default:
    this benchmark's :func:`markdown_table`)."""
    from pipeline.core.io import atomic_write_text
    from pipeline.core.records import write_record

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    js, md = out_dir / "benchmark.json", out_dir / "benchmark.md"
    write_record(js, report)
    atomic_write_text(md, (markdown or markdown_table)(report))
    return js, md
