"""Batch classification on a Dask cluster: the outputs of ``classify``, from many machines.

``autocode classify INPUT... --out DIR --workers N`` (a cluster of N processes on this
machine) or ``--scheduler tcp://HOST:8786`` (a running ``dask scheduler`` whose workers
may sit on other machines) writes the same files, byte for byte, as the run on one
machine, under the same rules: :func:`pipeline.run.batch.run_files` decides on the client
what is up to date, writes every output atomically and records failures.

Division of labour:

* A worker reads and segments a file (one task; the segments stay in the cluster's
  memory) and codes its segments in batches of ``CHUNK`` (one task each, handed the
  neighbouring segments the model reads as context), so a huge file is spread over all
  workers and segmentation neither runs on nor throttles the client.
* A worker loads the model once, from the model folder, and keeps it; tasks carry only
  a :class:`ModelRef` (a path and a fingerprint). The model folder and the inputs must be
  reachable under the same paths on every worker (a shared file system).
* Tasks are pure (segments in, JSONL text and code counts out), so Dask may rerun a task
  whose worker died. The client holds the segmentation of every file it has not written
  yet, so a copy lost with a worker is recomputed, not lost.
* The client keeps a bounded number of batches in flight, writes them in input order
  and releases each once written: its memory does not grow with the run.

The embedding cache (:class:`pipeline.learn.embed.EmbeddingCache`) is one SQLite file per
machine; SQLite admits one writer at a time, so the workers of one machine share it.
Workers on several machines must each use a local cache folder (``AUTOCODE_CACHE_DIR``
on a local disk): SQLite's locking is not safe on network file systems.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
import uuid
import warnings
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipeline.core.errors import AutocodeError, ClusterError, InputError, ModelError
from pipeline.core.io import atomic_open, dumps_jsonl
from pipeline.core.types import Segment, Transcript
from pipeline.run.batch import (
    CHUNK,
    BatchResult,
    FileResult,
    Progress,
    classify_fingerprint,
    finish_classify_run,
    run_files,
)

if TYPE_CHECKING:
    from distributed import Client, Future

    from pipeline.learn.model import Model

CONNECT_TIMEOUT = 30.0  # seconds to reach a scheduler, and then to see its first worker


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ClusterError(
            "--scheduler and --workers need Dask's distributed scheduler, which is not installed. "
            "Install it with: pip install 'autocode[distributed]'"
        ) from None
    return distributed


@contextlib.contextmanager
def cluster_client(*, scheduler: str | None = None, workers: int | None = None, timeout: float = CONNECT_TIMEOUT) -> Iterator[Client]:
    """A Dask client for a running scheduler, or for a new cluster on this machine.

    Args:
        scheduler: Address of a running ``dask scheduler``, e.g. ``tcp://10.0.0.5:8786``.
        workers: Instead, start a ``LocalCluster`` of this many worker processes on the
            loopback interface (one thread each: the embedder runs its own BLAS
            threads); it is shut down on exit.
        timeout: Seconds to wait for the scheduler, and then for at least one worker.

    Raises:
        ClusterError: neither or both of ``scheduler`` and ``workers`` given, the scheduler
            cannot be reached, or it has no worker within ``timeout``.
    """
    if (scheduler is None) == (workers is None):
        raise ClusterError("give either a scheduler address or a number of local workers, not both or neither.")
    if workers is not None and workers < 1:
        raise ClusterError(f"--workers {workers}: a local cluster needs at least one worker.")
    distributed = _distributed()
    with contextlib.ExitStack() as stack:
        if workers is not None:
            with warnings.catch_warnings():
                # Without a dashboard the scheduler's HTTP server only answers health checks;
                # that it took another port than 8787 is nothing to tell the user.
                warnings.filterwarnings("ignore", message="Port 8787 is already in use")
                cluster = distributed.LocalCluster(
                    n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
                )
            stack.callback(cluster.close)
            client = distributed.Client(cluster, timeout=timeout)
        else:
            try:
                client = distributed.Client(scheduler, timeout=timeout)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ClusterError(
                    f"cannot reach a Dask scheduler at {scheduler} within {timeout:.0f} s ({exc}). Check the address "
                    "(tcp://HOST:8786) and that 'dask scheduler' runs there, or use --workers N for a cluster on this machine."
                ) from None
        stack.callback(client.close)
        try:
            client.wait_for_workers(1, timeout=timeout)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {client.scheduler.address} has no worker after {timeout:.0f} s. Start workers "
                f"with 'dask worker {client.scheduler.address}' on machines that have autocode and the model."
            ) from None
        yield client


# --- worker side -----------------------------------------------------------------------


@dataclass(frozen=True)
class ModelRef:
    """What a worker needs to load a model itself: its folder and its fingerprint."""

    path: str
    fingerprint: str

    @classmethod
    def of(cls, model: Model) -> ModelRef:
        if model.path is None:
            raise ClusterError(
                f"model {model.name!r} has no folder; workers load the model from disk. Save it first "
                "(autocode train --out MODEL, or pipeline.learn.model.save_model)."
            )
        return cls(str(Path(model.path).resolve()), model.fingerprint)


_MODELS: OrderedDict[ModelRef, Model] = OrderedDict()
_MODELS_LOCK = threading.Lock()
_MODELS_KEPT = 2  # a long-lived cluster may serve runs with different models


def worker_model(ref: ModelRef) -> Model:
    """The model ``ref`` names, loaded once per process and kept.

    Raises:
        ModelError: the folder cannot be loaded here, or holds another model than the
            client's (a different copy on this machine, or changed during the run).
    """
    from pipeline.learn.model import load_model

    # One lock for all: threads of one worker wait for the first load instead of
    # loading the same model side by side.
    with _MODELS_LOCK:
        model = _MODELS.get(ref)
        if model is None:
            model = load_model(ref.path)
            if model.fingerprint != ref.fingerprint:
                raise ModelError(
                    f"{ref.path}: the model here has fingerprint {model.fingerprint[:12]}…, the client's has "
                    f"{ref.fingerprint[:12]}…; the folder differs between machines or changed during the run. "
                    "Give every worker the same model folder."
                )
            _MODELS[ref] = model
            while len(_MODELS) > _MODELS_KEPT:
                _MODELS.popitem(last=False)
        else:
            _MODELS.move_to_end(ref)
    return model


def _load_task(ref: ModelRef) -> tuple[str, float]:
    from pipeline.text.segment import segment_transcript

    start = time.perf_counter()
    model = worker_model(ref)
    # The embedder and the spaCy pipeline load on first use: do it now, not in the first file.
    model.predict_proba(["Aufwärmen."])
    segment_transcript(Transcript(id="warm-up", text="B: Aufwärmen."), config=model.config.segment)
    return _distributed().get_worker().address, time.perf_counter() - start


def _segment_task(ref: ModelRef, path: str) -> list[Segment]:
    from pipeline.text.ingest import read_transcript
    from pipeline.text.segment import segment_transcript

    model = worker_model(ref)
    if not Path(path).exists():
        raise InputError(
            f"{path}: no such file on worker {_distributed().get_worker().address}. Workers read the inputs "
            "themselves: put them on a file system all workers share, under the same path."
        )
    return segment_transcript(read_transcript(path), config=model.config.segment)


def _code(model: Model, before: Sequence[Segment], segments: Sequence[Segment], after: Sequence[Segment], jsonl: bool, stats=None):
    records = model.code_segments(list(segments), before=before, after=after, stats=stats)
    counts: Counter = Counter()
    for rec in records:
        counts.update(rec["codes"])
        counts.update(rec["parent_codes"])
    # JSON is encoded here, not on the client: the client's single writer then only copies text.
    return (dumps_jsonl(records) if jsonl else records), len(records), counts


def _around(segments: Sequence[Segment], start: int, stop: int, k: int) -> tuple[list[Segment], list[Segment], list[Segment]]:
    """Batch ``segments[start:stop]`` with the ``k`` segments before and after it: the
    context that ``Model.code_stream`` hands across its chunk boundaries."""
    return list(segments[max(0, start - k) : start]), list(segments[start:stop]), list(segments[stop : stop + k])


_STATS: OrderedDict[tuple, object] = OrderedDict()
_STATS_LOCK = threading.Lock()
_STATS_KEPT = 8  # documents whose mean a worker keeps: the few files in flight


def _whole_stats(model: Model, segments: Sequence[Segment], start: int, stop: int):
    """The whole document's :meth:`Model.document_stats` for a batch that is only part of
    it (``features.center``), computed once per document and worker: the other batches
    of the document that come to this worker reuse it."""
    if not model.centers or (start == 0 and stop >= len(segments)):
        return None
    # The mean depends on the embedder and the segments only (the configuration names the embedder).
    key = (model.config.hash, hashlib.sha256("\x00".join(s.id + "\x01" + s.text for s in segments).encode("utf-8")).hexdigest())
    with _STATS_LOCK:
        if key in _STATS:
            _STATS.move_to_end(key)
            return _STATS[key]
    stats = model.document_stats(segments)
    with _STATS_LOCK:
        _STATS[key] = stats
        while len(_STATS) > _STATS_KEPT:
            _STATS.popitem(last=False)
    return stats


def _code_task(ref: ModelRef, segments: list[Segment], start: int, stop: int, jsonl: bool):
    model = worker_model(ref)
    stats = _whole_stats(model, segments, start, stop)
    # The file's size comes back with every batch: the client learns it from the first
    # batch (submitted with the segmentation) instead of from a task of its own.
    return (*_code(model, *_around(segments, start, stop, model.context), jsonl, stats), len(segments))


def _code_inline_task(
    ref: ModelRef, before: list[Segment], segments: list[Segment], after: list[Segment], jsonl: bool, whole: tuple | None = None
):
    """One batch of an in-memory document; ``whole`` = (all its segments, start, stop)
    when the model centers and the document has more than one batch."""
    model = worker_model(ref)
    return _code(model, before, segments, after, jsonl, _whole_stats(model, *whole) if whole else None)


# --- client side -----------------------------------------------------------------------


def load_model_on_workers(client: Client, model: Model | ModelRef) -> dict[str, float]:
    """Load the model on every worker now; return the seconds each took, by worker address.

    Runs before a job so that a worker that cannot load the model stops the run with one
    clear message (instead of failing every file), and so that the load time is not
    counted as coding time. Workers that join later load the model on their first task.

    Raises:
        ClusterError: a worker cannot load the model or cannot run autocode at all.
    """
    ref = model if isinstance(model, ModelRef) else ModelRef.of(model)
    token = uuid.uuid4().hex[:8]
    # allow_other_workers: a worker that dies meanwhile must not leave its load task waiting forever.
    futures = {
        address: client.submit(_load_task, ref, key=f"autocode-load-model-{token}-{i}", workers=[address], allow_other_workers=True, pure=False)
        for i, address in enumerate(client.nthreads())
    }
    seconds: dict[str, float] = {}
    for address, future in futures.items():
        try:
            where, took = future.result()
        except AutocodeError as exc:
            raise ClusterError(
                f"worker {address} cannot load the model: {exc} Every worker needs the model folder and the inputs "
                "under the same paths as this machine (a shared file system)."
            ) from None
        except Exception as exc:  # noqa: BLE001 - e.g. autocode missing on the worker: say so plainly
            raise ClusterError(
                f"worker {address} cannot run autocode ({type(exc).__name__}: {exc}). Install the same autocode "
                "version on every worker."
            ) from None
        seconds[where] = took
    return seconds


def default_in_flight(client: Client) -> int:
    """Files started ahead of the writer, and further batches of a long file in flight:
    two per worker thread keep every worker busy while the client writes, and bound what
    waits in memory for the writer."""
    return max(4, 2 * sum(client.nthreads().values()))


@dataclass
class _Source:
    """One file (or in-memory document) on its way through the cluster."""

    segmented: Future | None = None  # a file's segments, on a worker; held until written
    inline: Sequence[Segment] | None = None  # an in-memory document's segments
    bounds: list[tuple[int, int]] | None = None  # the batches, once the size is known
    submitted: int = 0
    written: int = 0
    pending: deque = field(default_factory=deque)  # submitted batch futures, in order


class _Pipeline:
    """Keeps the workers busy ahead of an in-order writer, with bounded memory.

    Up to ``in_flight`` sources (files or documents) are started ahead of the writer,
    each with its segmentation and its first batch (a file of up to ``batch_size``
    segments is then two tasks). A file's size arrives with its first batch; its further
    batches are submitted in input order while fewer than ``in_flight`` of them wait to
    be written. The writer's own next batch is therefore always submitted: it never
    waits on work that cannot start.
    """

    def __init__(
        self, client: Client, ref: ModelRef, *, context: int, batch_size: int, in_flight: int, jsonl: bool, centers: bool = False
    ):
        if batch_size < 1 or in_flight < 1:
            raise ValueError(f"batch_size and in_flight must be at least 1, got {batch_size} and {in_flight}")
        self.client, self.ref, self.context, self.centers = client, ref, context, centers
        self.batch_size, self.in_flight, self.jsonl = batch_size, in_flight, jsonl
        self._todo: Iterator[tuple[str, Path | Sequence[Segment]]] = iter(())
        self._active: OrderedDict[str, _Source] = OrderedDict()
        self._more = 0  # batches after the first, submitted and not yet written
        self._token = uuid.uuid4().hex[:8]
        self._n = 0
        self._closed = False

    def feed(self, items: Iterable[tuple[str, Path | Sequence[Segment]]]) -> None:
        """Sources to process, in the order the writer will ask for them (read lazily)."""
        self._todo = iter(items)
        self._pump()

    def _key(self, what: str) -> str:
        self._n += 1
        return f"autocode-{what}-{self._token}-{self._n}"

    def _start(self, item: Path | Sequence[Segment]) -> _Source:
        if isinstance(item, Path):
            source = _Source(segmented=self.client.submit(_segment_task, self.ref, str(item), key=self._key("segment"), pure=False))
        else:
            source = _Source(inline=item, bounds=self._bounds(len(item)))
        self._submit_batch(source, (0, self.batch_size) if source.bounds is None else source.bounds[0])
        return source

    def _bounds(self, n: int) -> list[tuple[int, int]]:
        # Always one batch, empty for an empty file: the first batch is submitted unseen.
        return [(i, min(i + self.batch_size, n)) for i in range(0, n, self.batch_size)] or [(0, 0)]

    def _submit_batch(self, source: _Source, bounds: tuple[int, int]) -> None:
        start, stop = bounds
        if source.inline is not None:
            before, batch, after = _around(source.inline, start, stop, self.context)
            # A centering model needs the whole document's mean: only then is all of it sent.
            whole = (list(source.inline), start, stop) if self.centers and len(source.bounds) > 1 else None
            future = self.client.submit(
                _code_inline_task, self.ref, before, batch, after, self.jsonl, whole, key=self._key("code"), pure=False
            )
        else:
            future = self.client.submit(_code_task, self.ref, source.segmented, start, stop, self.jsonl, key=self._key("code"), pure=False)
        source.pending.append(future)
        source.submitted += 1

    def _pump(self) -> None:
        """Start sources and submit further batches, in input order, as far as the bounds allow."""
        if self._closed:
            return
        while len(self._active) < self.in_flight:
            item = next(self._todo, None)
            if item is None:
                break
            self._active[item[0]] = self._start(item[1])
        for source in self._active.values():
            if source.bounds is None:
                break  # its size is not known yet; later sources wait: batches go out in input order
            while source.submitted < len(source.bounds) and self._more < self.in_flight:
                self._submit_batch(source, source.bounds[source.submitted])
                self._more += 1
            if source.submitted < len(source.bounds):
                break

    def next_name(self) -> str | None:
        """The source the writer should ask for next (None: all done)."""
        self._pump()
        return next(iter(self._active), None)

    def results(self, name: str) -> Iterator[tuple[Any, int, Counter]]:
        """The batches of source ``name`` in order: (JSONL text or records, segments, code counts).

        Raises:
            AutocodeError: the source could not be read or segmented (the worker's error),
                or workers kept dying on it.
        """
        KilledWorker = _distributed().KilledWorker
        # The writer goes in input order: a source before ``name`` will not be asked for.
        while (first := self.next_name()) is not None and first != name:
            self._discard(first)
        source = self._active.get(name)
        if source is None:
            raise ValueError(f"{name!r} is not among the sources still to be written")
        try:
            while source.bounds is None or source.written < len(source.bounds):
                future = source.pending[0]  # taken off only once read: _discard cancels what is left
                try:
                    # A failed segmentation fails its batches with the worker's error,
                    # e.g. an unreadable file; it is raised here.
                    payload, n, counts, *size = future.result()
                except KilledWorker as exc:
                    raise ClusterError(
                        f"{name}: workers died repeatedly while processing this file ({exc}); it may need more "
                        "memory than a worker has. Run again to retry it; finished files are kept."
                    ) from None
                source.pending.popleft()
                future.release()
                if source.written:
                    self._more -= 1
                elif source.bounds is None:
                    source.bounds = self._bounds(size[0])
                source.written += 1
                self._pump()
                yield payload, n, counts
        finally:
            self._discard(name)

    def _discard(self, name: str) -> None:
        source = self._active.pop(name)
        first_pending = source.written == 0 and bool(source.pending)  # the first batch is not one of ``_more``
        self._more -= len(source.pending) - first_pending
        futures = [f for f in (source.segmented, *source.pending) if f is not None]
        if futures:
            self.client.cancel(futures)
        self._pump()

    def close(self) -> None:
        """Cancel whatever is still in flight (an interrupted or failed run)."""
        self._closed = True
        while self._active:
            self._discard(next(iter(self._active)))


def classify_files_on_cluster(
    inputs: list[str | Path],
    *,
    model: Model,
    out_dir: str | Path,
    client: Client,
    force: bool = False,
    allow_input_dir: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    on_segments: Callable[[int], None] | None = None,
    batch_size: int = CHUNK,
    in_flight: int | None = None,
    overview_lang: str | None = "de",
) -> BatchResult:
    """``autocode classify`` on a Dask cluster: the outputs of :func:`pipeline.run.batch.classify_files`.

    Args:
        model: The loaded model; workers load the same folder themselves.
        client: A connected client, e.g. from :func:`cluster_client`.
        batch_size: Segments per task; a file with more is split into several tasks.
        in_flight: Files started ahead of the writer, and further batches of a long file
            in flight (default: :func:`default_in_flight`); bounds the memory in use.
        overview_lang: Language of ``overview.html`` (None: no overview).

    Returns:
        The per-file results, in input order; ``summary.csv``, ``failures.csv`` and
        ``overview.html`` are written as on one machine.

    Raises:
        ClusterError: the workers cannot load the model (before any file is touched).
    """
    ref = ModelRef.of(model)
    pipeline = _Pipeline(
        client, ref, context=model.context, batch_size=batch_size, in_flight=in_flight or default_in_flight(client), jsonl=True,
        centers=model.centers,
    )
    # Ctrl-C and SIGTERM end the run as on one machine: finished outputs are kept and
    # the message says so (the futures still in flight are cancelled below).
    progress = Progress(Path(out_dir), on_file)

    def prefetch(paths: list[Path]) -> None:
        if paths:
            load_model_on_workers(client, ref)
            # Workers get absolute paths: their working folder is not the client's.
            pipeline.feed((str(p), p.resolve()) for p in paths)

    def process(path: Path, output: Path) -> tuple[int, Counter]:
        progress.current = path
        n, counts = 0, Counter()
        with atomic_open(output, "w", encoding="utf-8", newline="\n") as fh, contextlib.closing(pipeline.results(str(path))) as batches:
            for text, k, batch_counts in batches:
                fh.write(text)
                n += k
                counts.update(batch_counts)
                if on_segments is not None:
                    on_segments(k)
        return n, counts

    try:
        with progress.interruptible():
            result = run_files(
                inputs, out_dir=out_dir, process=process, fingerprint=classify_fingerprint(model), force=force,
                allow_input_dir=allow_input_dir, on_file=progress.file_done, prefetch=prefetch,
            )  # fmt: skip
    finally:
        pipeline.close()
    finish_classify_run(result, Path(out_dir), model, overview_lang=overview_lang)
    return result


def code_documents_on_cluster(
    documents: Iterable[Sequence[Segment]],
    *,
    model: Model,
    client: Client,
    batch_size: int = CHUNK,
    in_flight: int | None = None,
) -> Iterator[list[dict]]:
    """Code documents already segmented in memory on the cluster, in order.

    Args:
        documents: Per document, its segments in document order (a model that reads
            neighbours takes them from the same list).
        model: A model saved in a folder the workers can read.
        client: A connected client, e.g. from :func:`cluster_client`.

    Yields:
        Per document, the records of ``model.code_stream(document)`` (the output records
        of ``classify``). Documents are read from ``documents`` as the cluster needs them,
        and their segments travel with the tasks, so a task lost with its worker is
        simply run again.
    """
    ref = ModelRef.of(model)
    load_model_on_workers(client, ref)
    pipeline = _Pipeline(
        client, ref, context=model.context, batch_size=batch_size, in_flight=in_flight or default_in_flight(client), jsonl=False,
        centers=model.centers,
    )
    try:
        pipeline.feed((str(i), list(doc)) for i, doc in enumerate(documents))
        while (name := pipeline.next_name()) is not None:
            records: list[dict] = []
            with contextlib.closing(pipeline.results(name)) as batches:
                for batch, _, _ in batches:
                    records.extend(batch)
            yield records
    finally:
        pipeline.close()
