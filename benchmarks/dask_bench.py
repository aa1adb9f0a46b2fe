"""Scaling of ``classify`` on a Dask cluster: one process against 1 and 2 workers.

    python benchmarks/dask_bench.py [--copies 15] [--model models/default] [--workers 1 2] [--markdown FILE]

The input is the eight sample interviews (``corpus/transcripts``) copied ``--copies``
times, each copy with other French and German place names, so that the texts vary
(15 copies: about 21,000 segments in 120 files). The embedding cache is switched off:
every segment is embedded afresh, as on a first run over new material.

Measured, each after the model is loaded (load times are reported apart):

* the single-process run (``classify_files``), as it is and with one BLAS thread as
  Dask gives each worker, and the cluster runs (``classify_files_on_cluster``) on local
  clusters of 1 and 2 workers and on 2 workers under a scheduler process of their own (as
  on a real cluster), end to end: read, hash, segment, embed, classify, write; every
  cluster output is checked to be identical to the single-process one; wall time and
  CPU time per segment (workers) and per file (client);
* the overhead per task: the round trip of a no-op task, the scheduler's rate of no-op
  tasks, the model load per worker, the start of the local cluster;
* the ceilings that do not grow with the workers: the client as the single writer
  (receiving finished JSONL batches from the workers and writing them), and the SQLite
  embedding cache (vectors per second one writer stores; writers on one machine take
  turns).

From these it prints (and with ``--markdown`` writes) the projection for 1.7 million
segments on 1, 8 and 64 workers that docs/dask.md quotes. The machine's load average is
printed with every figure: on a shared machine the figures are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ["AUTOCODE_CACHE_DIR"] = "off"
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET = 1_700_000  # coded statements of the Manifesto corpus
SEGMENTS_PER_FILE = 400  # ~1.7 M statements in ~4,000 manifestos
FRENCH = ["Lyon", "Grenoble", "Paris", "Straßburg", "Lille", "Bordeaux", "Toulouse", "Nantes"]
GERMAN = ["Stuttgart", "Karlsruhe", "Freiburg", "Mannheim", "Ulm", "Heilbronn"]


def build_input(folder: Path, copies: int) -> list[Path]:
    """The sample interviews ``copies`` times; copy c shifts the place names by c."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sorted((REPO / "corpus" / "transcripts").glob("*.txt"))
    for c in range(copies):
        for src in sources:
            text = src.read_text(encoding="utf-8")
            for names in (FRENCH, GERMAN):
                # Placeholders first, so that a shift never renames a name twice.
                for i, name in enumerate(names):
                    text = text.replace(name, f"\0{i}\0")
                for i in range(len(names)):
                    text = text.replace(f"\0{i}\0", names[(i + c) % len(names)])
            (folder / f"c{c:02d}_{src.name}").write_text(text, encoding="utf-8")
    return sorted(folder.iterdir())


def load() -> str:
    return "load {:.2f}/{:.2f}/{:.2f}".format(*os.getloadavg())


def noop(x):
    return x


def cpu_seconds() -> float:
    """CPU time of this process, all threads (the embedder's BLAS threads included)."""
    return time.process_time()


def jsonl_chunk(path: str, lines: int) -> str:
    """The first ``lines`` records of a classify output, as a worker would return them."""
    with open(path, encoding="utf-8") as fh:
        return "".join(line for _, line in zip(range(lines), fh))


def same_outputs(a: Path, b: Path) -> bool:
    names = sorted(p.name for p in a.iterdir() if p.suffix in (".jsonl", ".json", ".csv"))
    return names == sorted(p.name for p in b.iterdir() if p.suffix in (".jsonl", ".json", ".csv")) and all(
        (a / n).read_bytes() == (b / n).read_bytes() for n in names
    )


def overhead(client, n_latency: int = 200, n_rate: int = 4000) -> tuple[float, float]:
    """(seconds per no-op round trip, no-op tasks per second through the scheduler)."""
    client.submit(noop, -1, pure=False).result()
    t0 = time.perf_counter()
    for i in range(n_latency):
        client.submit(noop, i, pure=False).result()
    latency = (time.perf_counter() - t0) / n_latency
    t0 = time.perf_counter()
    client.gather(client.map(noop, range(n_rate), pure=False))
    return latency, n_rate / (time.perf_counter() - t0)


def writer_ceiling(client, sample: Path, out: Path, *, chunks: int = 60) -> float:
    """Segments per second the client receives (finished JSONL from workers) and writes."""
    from pipeline.core.io import atomic_open
    from pipeline.run.batch import CHUNK

    lines = sum(1 for _ in open(sample, encoding="utf-8"))
    per_chunk = min(CHUNK, lines)
    futures = [client.submit(jsonl_chunk, str(sample), per_chunk, pure=False) for _ in range(chunks)]
    client.gather(futures[:1])
    t0 = time.perf_counter()
    for i in range(0, chunks, 4):  # a file of four batches at a time, like a long file
        with atomic_open(out / f"w{i}.jsonl", "w", encoding="utf-8", newline="\n") as fh:
            for f in futures[i : i + 4]:
                fh.write(f.result())
    took = time.perf_counter() - t0
    return chunks * per_chunk / took


def cache_ceiling(folder: Path, *, batches: int = 8) -> float:
    """512-d vectors per second one writer stores in the SQLite embedding cache."""
    import numpy as np

    from pipeline.learn.embed import EmbeddingCache
    from pipeline.run.batch import CHUNK

    cache = EmbeddingCache(folder / "embeddings.sqlite")
    rng = np.random.default_rng(0)
    items = [{f"{b}-{i}": v for i, v in enumerate(rng.standard_normal((CHUNK, 512), dtype=np.float32))} for b in range(batches)]
    t0 = time.perf_counter()
    for batch in items:
        cache.put("bench", batch)
    return batches * CHUNK / (time.perf_counter() - t0)


def fsync_seconds(folder: Path, *, files: int = 40) -> float:
    """Seconds of one small atomic write (temporary file, fsync, rename): each output and
    each ``.meta.json`` costs one, on the client's single writer thread."""
    from pipeline.core.io import atomic_write_text

    t0 = time.perf_counter()
    for i in range(files):
        atomic_write_text(folder / f"f{i}.json", "{}\n")
    return (time.perf_counter() - t0) / files


def fmt_hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"


def run_single(files: list[Path], model_dir: str, out: Path, label: str) -> tuple[int, float, float]:
    """(segments, seconds, CPU seconds) of ``classify_files`` after loading and warming up."""
    from pipeline.core.types import Transcript
    from pipeline.learn.model import load_model
    from pipeline.run.batch import classify_files
    from pipeline.text.segment import segment_transcript

    t0 = time.perf_counter()
    model = load_model(model_dir)
    # Load the embedder and the spaCy pipeline now, as load_model_on_workers does on the workers.
    model.predict_proba(["Aufwärmen."])
    segment_transcript(Transcript(id="warm-up", text="B: Aufwärmen."), config=model.config.segment)
    t_load = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    result = classify_files(files, model=model, out_dir=out)
    took, cpu = time.perf_counter() - t0, time.process_time() - c0
    n = sum(f.segments for f in result.ok)
    print(f"{label:<22}{took:7.1f} s  {n / took:6.0f} segments/s; {cpu / n * 1000:.2f} CPU-ms/segment (model load {t_load:.1f} s)   {load()}")
    return n, took, cpu


@contextlib.contextmanager
def separate_cluster(workers: int, tmp: Path):
    """``dask scheduler`` and ``dask worker`` as processes of their own, as on a cluster; yields the address."""
    scheduler_file = tmp / "scheduler.json"
    common = ["--no-dashboard"]
    # The workers import autocode from this checkout, installed or not.
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    procs = [subprocess.Popen([sys.executable, "-m", "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--scheduler-file", str(scheduler_file), *common], stderr=subprocess.DEVNULL, env=env)]  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written before the scheduler accepts connections
        address = json.loads(scheduler_file.read_text())["address"]
        procs.append(subprocess.Popen([sys.executable, "-m", "dask", "worker", address, "--nworkers", str(workers),
                                       "--nthreads", "1", *common], stderr=subprocess.DEVNULL, env=env))  # fmt: skip
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def run_cluster(client, files, model, tmp: Path, *, label: str, start: float, n: int, t_single: float, t_single1: float) -> dict:
    """Classify ``files`` on the cluster; print and return the figures."""
    from pipeline.run.distributed import classify_files_on_cluster, load_model_on_workers

    loads = load_model_on_workers(client, model)
    latency, task_rate = overhead(client)
    out = tmp / label.replace(" ", "_").replace(",", "").replace("(", "").replace(")", "")
    before = client.run(cpu_seconds)
    t0, c0 = time.perf_counter(), time.process_time()
    result = classify_files_on_cluster(files, model=model, out_dir=out, client=client)
    took, c_client = time.perf_counter() - t0, time.process_time() - c0
    c_workers = sum(c - before[a] for a, c in client.run(cpu_seconds).items() if a in before)
    identical = same_outputs(out, tmp / "single") and sum(f.segments for f in result.ok) == n
    print(
        f"{label:<22}{took:7.1f} s  {n / took:6.0f} segments/s, x{t_single / took:.2f} of the single "
        f"process, x{t_single1 / took:.2f} of it with 1 thread; outputs {'identical' if identical else 'DIFFERENT'}   {load()}"
    )
    print(
        f"  CPU                 {c_workers / n * 1000:.2f} ms/segment on the workers; client "
        f"{c_client / len(files) * 1000:.1f} ms/file = {c_client / n * 1000:.3f} ms/segment"
    )
    print(
        f"  overhead            cluster start {start:.1f} s, model load per worker "
        f"{', '.join(f'{s:.1f}' for s in loads.values())} s, no-op task round trip {latency * 1000:.1f} ms, "
        f"{task_rate:.0f} no-op tasks/s"
    )
    if not identical:
        raise SystemExit("the cluster outputs differ from the single-process outputs")
    return {
        "worker_cpu": c_workers / n, "client_cpu_file": c_client / len(files), "start": start,
        "model_load": max(loads.values()), "task_rate": task_rate,
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=15)
    parser.add_argument("--model", default=str(REPO / "models" / "default"))
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--markdown", type=Path, help="also write the projection (Markdown) to this file")
    args = parser.parse_args()

    from pipeline.learn.model import load_model
    from pipeline.run.distributed import cluster_client

    tmp = Path(tempfile.mkdtemp(prefix="dask-bench-"))
    fig: dict[str, float] = {}
    try:
        files = build_input(tmp / "in", args.copies)
        print(f"input                 {len(files)} files ({args.copies} copies of the sample interviews)   {load()}")
        n, t_single, _ = run_single(files, args.model, tmp / "single", "single process")
        print(f"segments              {n}")
        # Dask gives each worker process one BLAS thread (OMP_NUM_THREADS=1); the same
        # setting in one process separates Dask's overhead from the threading.
        os.environ["OMP_NUM_THREADS"] = "1"
        _, t_single1, _ = run_single(files, args.model, tmp / "single1", "  1 BLAS thread")
        model = load_model(args.model)

        for w in args.workers:
            t0 = time.perf_counter()
            with cluster_client(workers=w, timeout=120) as client:
                local = run_cluster(client, files, model, tmp, label=f"{w} worker(s)", start=time.perf_counter() - t0,
                                    n=n, t_single=t_single, t_single1=t_single1)  # fmt: skip
            fig["client_cpu_file_with_scheduler"] = local["client_cpu_file"]
        # On a real cluster the scheduler is a process of its own; the client's CPU time
        # is then its own work alone (receiving and writing), which is what limits scaling.
        w = max(args.workers)
        t0 = time.perf_counter()
        with separate_cluster(w, tmp) as address, cluster_client(scheduler=address, timeout=120) as client:
            client.wait_for_workers(w, timeout=120)
            fig.update(run_cluster(client, files, model, tmp, label=f"{w} worker(s), own scheduler", start=time.perf_counter() - t0,
                                   n=n, t_single=t_single, t_single1=t_single1), workers=w)  # fmt: skip
            sample = max((tmp / "single").glob("*.jsonl"), key=lambda p: p.stat().st_size)
            (tmp / "writer").mkdir()
            fig["writer"] = writer_ceiling(client, sample, tmp / "writer")
        print(f"client writer         {fig['writer']:.0f} segments/s (receives finished batches, writes JSONL)   {load()}")
        (tmp / "fsync").mkdir()
        fig["fsync"] = fsync_seconds(tmp / "fsync")
        print(f"atomic write          {fig['fsync'] * 1000:.1f} ms per output file (fsync + rename)   {load()}")
        fig["cache"] = cache_ceiling(tmp / "cache")
        print(f"sqlite cache          {fig['cache']:.0f} vectors/s stored by one writer   {load()}")
        fig["segments_per_file"] = n / len(files)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    md = projection(fig)
    print()
    print(md)
    if args.markdown:
        args.markdown.write_text(md + "\n", encoding="utf-8")


def projection(fig: dict[str, float]) -> str:
    """The Markdown projection for ``TARGET`` segments from the measured figures.

    Other jobs share this machine's two cores, so wall-clock rates say as much about
    them as about autocode. CPU seconds per segment say less about them: a worker with a
    core of its own codes 1 / (its CPU seconds per segment) segments per second. What
    does not grow with the workers is modelled per output file of S segments:

    * the client: its CPU time per file in the run with a scheduler process of its own,
      plus the extra segments' text at the measured writer rate, plus two atomic writes
      (output and metadata), as if all of it were serial;
    * the scheduler: the no-op task rate measured through it, over the tasks of a file
      (its segmentation and one coding task per 2,048 segments).
    """
    S = SEGMENTS_PER_FILE
    per_worker = 1 / fig["worker_cpu"]
    client_per_file = fig["client_cpu_file"] + max(0.0, S - fig["segments_per_file"]) / fig["writer"] + 2 * fig["fsync"]
    tasks_per_file = 1 + math.ceil(S / 2048)
    client_ceiling = S / client_per_file
    scheduler_ceiling = fig["task_rate"] * S / tasks_per_file
    ceilings = {"the client, the single writer": client_ceiling, "the scheduler's task rate": scheduler_ceiling}
    startup = fig["start"] + fig["model_load"]
    rows = []
    for w in (1, 8, 64):
        rate = min(w * per_worker, *ceilings.values())
        rows.append(f"| {w} | {rate:,.0f} | {fmt_hours(startup + TARGET / rate)} |")
    limit_name, limit = min(ceilings.items(), key=lambda kv: kv[1])
    return "\n".join(
        [
            f"| workers | segments/s | time for {TARGET / 1e6:.1f} M segments |",
            "|---:|---:|---:|",
            *rows,
            "",
            f"Assumed: files of {S} segments, a worker per core at {per_worker:,.0f} segments/s (its CPU time per segment "
            f"in the {fig['workers']:.0f}-worker run). Ceilings: the client {client_ceiling:,.0f} segments/s "
            f"({fig['client_cpu_file'] * 1000:.1f} ms CPU per file; {fig['client_cpu_file_with_scheduler'] * 1000:.1f} ms with "
            f"a LocalCluster's scheduler inside it; writer {fig['writer']:,.0f} segments/s, "
            f"{fig['fsync'] * 1000:.1f} ms per atomic write), the scheduler {fig['task_rate']:,.0f} no-op tasks/s = "
            f"{scheduler_ceiling:,.0f} segments/s ({tasks_per_file} tasks per file); the SQLite cache, one per "
            f"machine, stores {fig['cache']:,.0f} vectors/s. Scaling stops at about {limit / per_worker:,.0f} workers: "
            f"{limit_name}.",
        ]
    )


if __name__ == "__main__":  # the local cluster's worker processes import this file again
    main()
