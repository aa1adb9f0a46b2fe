"""Classification on a Dask cluster: a real LocalCluster on loopback with 2 worker processes.

The outputs must equal the single-process run byte for byte, also when files are split
into many batches and when a worker is killed in the middle of the run; the embedding
cache must survive several processes writing to it at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

pytest.importorskip("distributed")

from pipeline.cli import app  # noqa: E402
from pipeline.core.errors import ClusterError  # noqa: E402
from pipeline.learn.embed import EmbeddingCache  # noqa: E402
from pipeline.learn.model import Model, load_model  # noqa: E402
from pipeline.run.batch import classify_files  # noqa: E402
from pipeline.run.distributed import (  # noqa: E402
    ModelRef,
    _code_task,
    classify_files_on_cluster,
    cluster_client,
    code_documents_on_cluster,
)
from pipeline.text.ingest import read_transcript  # noqa: E402
from pipeline.text.segment import segment_transcript  # noqa: E402
from tests.test_cli import UNITS  # noqa: E402  (the same tiny hand-coded units)

REPO = Path(__file__).resolve().parents[1]
RUN_TIMEOUT = 120  # seconds; a run that takes longer hangs, and fails the test instead of the suite
runner = CliRunner()



def train_tiny(folder: Path, *, C: float = 20) -> Path:
    """A tf-idf model trained in about a second (no embedder weights to load)."""
    folder.mkdir(parents=True, exist_ok=True)
    coded = folder / "units.jsonl"
    coded.write_text("".join(json.dumps({"id": i, "text": t, "codes": c, "coder": "A"}) + "\n" for i, t, c in UNITS), encoding="utf-8")
    config = folder / "config.yaml"
    config.write_text(f"embedder: {{name: tfidf}}\nclassifier: {{C: {C}}}\ntraining: {{min_examples: 2, cv_folds: 2}}\n", encoding="utf-8")
    result = runner.invoke(app, ["train", str(coded), "--out", str(folder / "model"), "--config", str(config), "--no-cv"])
    assert result.exit_code == 0, result.stderr
    return folder / "model"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Model:
    return load_model(train_tiny(tmp_path_factory.mktemp("tiny")))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> Path:
    """The eight sample interviews, one long file made of four of them, and an empty file."""
    folder = tmp_path_factory.mktemp("inputs")
    texts = []
    for path in sorted((REPO / "corpus" / "transcripts").glob("*.txt")):
        shutil.copy(path, folder / path.name)
        texts.append(path.read_text(encoding="utf-8"))
    (folder / "zz_long.txt").write_text("\n\n".join(texts[:4]), encoding="utf-8")
    (folder / "empty.txt").write_bytes(b"")
    return folder


@pytest.fixture(scope="module")
def single(model, inputs, tmp_path_factory) -> Path:
    """The single-process outputs every cluster run is compared with."""
    out = tmp_path_factory.mktemp("single")
    result = classify_files([inputs], model=model, out_dir=out)
    assert [f.path.name for f in result.failed] == ["empty.txt"]
    return out


@pytest.fixture(scope="module")
def client():
    with cluster_client(workers=2, timeout=60) as c:
        yield c


def bounded(func, *, timeout: float = RUN_TIMEOUT):
    """Run ``func`` in a thread; fail (instead of hanging the suite) if it takes too long."""
    box: dict = {}

    def target():
        try:
            box["value"] = func()
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"the cluster run did not finish within {timeout} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


def outputs(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_cluster_run_equals_single_process_and_resumes(client, model, inputs, single, tmp_path):
    out = tmp_path / "out"
    held: list[int] = []
    # Batches of 50 segments: the long file (about 700 segments) and every interview are
    # split over several tasks and workers.
    result = bounded(
        lambda: classify_files_on_cluster(
            [inputs], model=model, out_dir=out, client=client, batch_size=50, in_flight=3,
            on_segments=lambda n: held.append(len(client.futures)),
        )
    )  # fmt: skip
    assert outputs(out) == outputs(single)
    # Bounded memory: at most 3 files ahead (segments + first batch each) and 3 more
    # batches; released futures leave the client's table a moment later (+2). Unbounded,
    # the 10 files and their 40-odd batches would all be held at once.
    assert held and max(held) <= 3 * 2 + 3 + 2
    assert [f.status for f in result.files] == ["failed"] + ["done"] * 9
    assert "empty.txt: the file is empty" in result.failed[0].error
    long = json.loads((out / "zz_long.meta.json").read_text(encoding="utf-8"))["segments"]
    assert long > 10 * 50

    before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.jsonl")}
    again = bounded(lambda: classify_files_on_cluster([inputs], model=model, out_dir=out, client=client))
    assert [f.status for f in again.ok] == ["skipped"] * 9
    # One fingerprint for both runners: a single-process run resumes the cluster's output.
    local = classify_files([inputs], model=model, out_dir=out)
    assert [f.status for f in local.ok] == ["skipped"] * 9
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.jsonl")} == before


def test_interrupt_keeps_finished_outputs_and_cancels_the_rest(client, model, inputs, single, tmp_path):
    from pipeline.run.batch import BatchInterrupted

    seen: list[str] = []

    def on_file(result):
        seen.append(result.path.name)
        if len(seen) == 3:  # empty.txt (failed), int01, int02: then Ctrl-C
            raise KeyboardInterrupt

    out = tmp_path / "out"
    with pytest.raises(BatchInterrupted):
        bounded(lambda: classify_files_on_cluster([inputs], model=model, out_dir=out, client=client, batch_size=50, on_file=on_file))
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"{stem}.{ext}" for stem in ("int01_clustermanagement", "int02_partnercluster_frankreich") for ext in ("jsonl", "meta.json")
    )  # no partial file, no summary of an incomplete run
    for name in ("int01_clustermanagement.jsonl", "int02_partnercluster_frankreich.jsonl"):
        assert (out / name).read_bytes() == (single / name).read_bytes()
    deadline = time.monotonic() + 10
    while any(str(k).startswith("autocode-") for k in client.futures) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [k for k in client.futures if str(k).startswith("autocode-")], "work of the interrupted run was left running"


def test_code_documents_on_cluster_equals_code_stream(client, model, inputs):
    documents = [
        segment_transcript(read_transcript(path), config=model.config.segment) for path in sorted(inputs.glob("int0*.txt"))[:3]
    ]
    documents.insert(1, [])  # a document without segments keeps its place
    coded = bounded(lambda: list(code_documents_on_cluster(documents, model=model, client=client, batch_size=64, in_flight=3)))
    assert coded == [list(model.code_stream(doc)) for doc in documents]


def test_batches_get_the_neighbours_code_stream_gives(model, inputs, monkeypatch):
    """A model that reads 2 neighbours on each side codes a file split into batches as
    code_stream codes it whole (tasks run in this process here)."""

    def code_segments(self, segments, *, before=(), after=(), stats=None):
        records = original(self, segments, before=before, after=after, stats=stats)
        for rec in records:
            rec["context"] = [s.id for s in before] + ["|"] + [s.id for s in after]
        return records

    original = Model.code_segments
    monkeypatch.setattr(Model, "context", property(lambda self: 2))
    monkeypatch.setattr(Model, "code_segments", code_segments)
    segments = segment_transcript(read_transcript(inputs / "int01_clustermanagement.txt"), config=model.config.segment)
    ref = ModelRef.of(model)
    batched = []
    for start in range(0, len(segments), 37):
        records, n, _, total = _code_task(ref, segments, start, min(start + 37, len(segments)), False)
        assert (n, total) == (len(records), len(segments))
        batched.extend(records)
    assert batched == list(model.code_stream(segments, chunk=37))
    assert batched[37]["context"] == [segments[35].id, segments[36].id, "|", segments[74].id, segments[75].id]


def test_workers_with_another_model_are_refused_before_any_file(client, tmp_path, inputs):
    folder = train_tiny(tmp_path / "m", C=20)
    loaded = load_model(folder)
    train_tiny(tmp_path / "m", C=0.5)  # the folder now holds another model than the client's
    with pytest.raises(ClusterError, match=r"cannot load the model: .*fingerprint .*Give every worker the same model folder"):
        bounded(lambda: classify_files_on_cluster([inputs], model=loaded, out_dir=tmp_path / "out", client=client))
    assert not list((tmp_path / "out").glob("*.jsonl"))


def test_unreachable_scheduler_names_address_and_hint():
    with socket.socket() as sock:  # a port on which nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(ClusterError, match=rf"cannot reach a Dask scheduler at tcp://127.0.0.1:{port} within 2 s.*--workers N"):
        with cluster_client(scheduler=f"tcp://127.0.0.1:{port}", timeout=2):
            pass
    assert time.monotonic() - started < 20


def test_cli_refuses_scheduler_and_workers_together(tmp_path, inputs):
    result = runner.invoke(app, ["classify", str(inputs), "--out", str(tmp_path / "o"), "--scheduler", "tcp://127.0.0.1:8786", "--workers", "2"])
    assert result.exit_code == 2
    assert "not both" in result.stderr


def test_cli_on_a_running_scheduler(client, model, inputs, single, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("int01_clustermanagement.txt", "int02_partnercluster_frankreich.txt", "empty.txt"):
        shutil.copy(inputs / name, folder / name)
    result = runner.invoke(app, ["classify", str(folder), "--model", str(model.path), "--out", str(tmp_path / "o"), "--scheduler", client.scheduler.address, "-q"])
    assert result.exit_code == 1, result.stderr  # the empty file fails, as on one machine
    assert "2 file(s), " in result.stderr and "1 of 3 file(s) failed" in result.stderr
    for name in ("int01_clustermanagement.jsonl", "int02_partnercluster_frankreich.jsonl"):
        assert (tmp_path / "o" / name).read_bytes() == (single / name).read_bytes()


# --- a worker killed in the middle of the run ----------------------------------------------


def _slow_down_coding(seconds: float) -> None:
    """Make each batch take ``seconds`` longer in this worker process (undone below)."""
    from pipeline.learn.model import Model

    original = Model.code_segments
    if hasattr(original, "undo"):
        return

    def slowed(self, *args, **kwargs):
        time.sleep(seconds)
        return original(self, *args, **kwargs)

    slowed.undo = original
    Model.code_segments = slowed


def _restore_coding() -> None:
    from pipeline.learn.model import Model

    Model.code_segments = getattr(Model.code_segments, "undo", Model.code_segments)


def _retried_after_worker_loss(dask_scheduler, since: float) -> list[str]:
    """Coding tasks the scheduler took back from a lost worker to run them again."""
    return sorted(
        str(t.key) for t in dask_scheduler.transition_log
        if str(t.key).startswith("autocode-code-") and (t.start, t.finish) == ("processing", "released")
        and "worker-cleanup" in t.stimulus_id and t.timestamp >= since
    )  # fmt: skip


def test_killed_worker_loses_nothing(client, model, inputs, single, tmp_path):
    out = tmp_path / "out"
    files = sorted(inputs.glob("int0*.txt"))  # about 1,400 segments: some 50 batches of 32
    since = time.time()
    client.run(_slow_down_coding, 0.1)
    try:
        pids = client.run(os.getpid)
        box: dict = {}
        run = threading.Thread(
            target=lambda: box.update(result=classify_files_on_cluster(files, model=model, out_dir=out, client=client, batch_size=32)),
            daemon=True,
        )
        run.start()
        victim = None
        deadline = time.monotonic() + 60
        while victim is None and time.monotonic() < deadline and run.is_alive():
            busy = [w for w, keys in client.processing().items() if any(str(k).startswith("autocode-code-") for k in keys)]
            victim = busy[0] if busy else None
            time.sleep(0.02)
        assert victim is not None, "no coding task was seen running"
        os.kill(pids[victim], signal.SIGKILL)
        run.join(RUN_TIMEOUT)
        assert not run.is_alive(), f"the run did not finish within {RUN_TIMEOUT} s after the kill"
    finally:
        client.run(_restore_coding)
    assert victim not in client.nthreads()
    assert client.run_on_scheduler(_retried_after_worker_loss, since=since), "no task of the killed worker was run again"
    assert [f.status for f in box["result"].files] == ["done"] * len(files)
    expected = outputs(single)
    got = outputs(out)
    for path in files:
        for name in (f"{path.stem}.jsonl", f"{path.stem}.meta.json"):
            assert got[name] == expected[name], name


# --- the embedding cache under several writers ---------------------------------------------


HAMMER = """
import hashlib, sys
import numpy as np
from pipeline.learn.embed import EmbeddingCache

def vector(key):
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).standard_normal(16).astype(np.float32)

path, writer, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
cache = EmbeddingCache(path)
wrong = 0
for r in range(rounds):
    # Keys every writer writes (with the same vectors) and keys of its own, in many
    # small transactions, each read back at once.
    items = {f"shared-{i}": vector(f"shared-{i}") for i in range(r * 5, r * 5 + 10)}
    items.update({f"writer{writer}-{r}-{i}": vector(f"writer{writer}-{r}-{i}") for i in range(5)})
    cache.put("emb", items)
    got = cache.get("emb", list(items))
    wrong += sum(not np.array_equal(got.get(k), v) for k, v in items.items())
print(wrong)
"""


def _vector(key: str) -> np.ndarray:
    seed = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).standard_normal(16).astype(np.float32)


def test_embedding_cache_survives_concurrent_writers(tmp_path):
    path = str(tmp_path / "embeddings.sqlite")
    writers, rounds = 4, 40
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    procs = [
        subprocess.Popen([sys.executable, "-c", HAMMER, path, str(w), str(rounds)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
        for w in range(writers)
    ]
    try:
        done = [p.communicate(timeout=RUN_TIMEOUT) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert [p.returncode for p in procs] == [0] * writers, [err for _, err in done]
    assert [out.strip() for out, _ in done] == ["0"] * writers  # every read matched what was written
    expected = {f"shared-{i}" for i in range(rounds * 5 + 5)} | {
        f"writer{w}-{r}-{i}" for w in range(writers) for r in range(rounds) for i in range(5)
    }
    stored = EmbeddingCache(path).get("emb", sorted(expected))
    assert set(stored) == expected
    assert all(np.array_equal(v, _vector(k)) for k, v in stored.items())
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert con.execute("SELECT COUNT(*) FROM vectors").fetchone() == (len(expected),)


def test_embedder_takes_the_thread_budget_dask_gives_each_worker(monkeypatch):
    from pipeline.learn.embed import _blas_threads

    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # what the nanny sets in every worker process
    assert _blas_threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "not a number")
    assert _blas_threads() == max(1, min(os.cpu_count() or 1, 4))
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert _blas_threads() == max(1, min(os.cpu_count() or 1, 4))


def test_a_worker_computes_a_documents_mean_once_for_all_its_batches(model, inputs, monkeypatch):
    """A centering model's batches need the whole document's mean; the batches of one
    document that a worker codes embed the document once between them, not once each."""
    assert model.centers
    from collections import OrderedDict

    import pipeline.run.distributed as distributed

    monkeypatch.setattr(distributed, "_STATS", OrderedDict())  # nothing kept from earlier tests
    calls = []
    original = Model.document_stats
    monkeypatch.setattr(Model, "document_stats", lambda self, segs, **kw: calls.append(len(segs)) or original(self, segs, **kw))
    segments = segment_transcript(read_transcript(inputs / "int01_clustermanagement.txt"), config=model.config.segment)
    ref = ModelRef.of(model)
    batched = [r for start in range(0, len(segments), 37) for r in _code_task(ref, segments, start, min(start + 37, len(segments)), False)[0]]
    assert calls == [len(segments)]
    assert batched == list(model.code_stream(segments, chunk=37))
