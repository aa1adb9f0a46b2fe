"""Batch runs over many files that lose nothing.

* Each file is processed on its own: a file that fails is reported with its reason and
  the others are processed completely.
* Each output appears complete or not at all (temporary file + rename), and its
  metadata (``<stem>.meta.json``, written last) records the input's SHA-256, the model
  fingerprint and the configuration, so that a re-run skips finished files and redoes
  the rest.
* Nothing is written into an input folder or over an input file unless asked.
"""

from __future__ import annotations

import contextlib
import json
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import __version__
from pipeline.core.config import SegmentConfig
from pipeline.core.errors import AutocodeError, OutputError, OutputPathError
from pipeline.core.io import atomic_open, atomic_write_csv, atomic_write_text, sha256_file
from pipeline.core.types import Segment
from pipeline.text.ingest import collect_inputs, read_transcript
from pipeline.text.segment import iter_segments

CHUNK = 2048  # segments embedded and classified at a time: bounds memory on huge files


@dataclass
class FileResult:
    """What happened to one input file."""

    path: Path
    status: str  # "done", "skipped" (output up to date) or "failed"
    output: Path | None = None
    segments: int = 0
    codes: Counter = field(default_factory=Counter)
    error: str = ""


@dataclass
class BatchResult:
    files: list[FileResult]
    overview: Path | None = None  # overview.html of a classify run, once written
    overview_error: str = ""  # why it could not be written (the coded outputs are complete)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> list[FileResult]:
        return [f for f in self.files if f.status != "failed"]


class BatchInterrupted(KeyboardInterrupt):
    """A batch stopped by Ctrl-C or SIGTERM.

    Outputs finished before are kept; the output in progress was discarded by its atomic
    writer; ``summary.csv``, ``failures.csv`` and ``overview.html`` are not written, and
    those of an earlier run are removed, because they describe complete runs only. Re-running the same
    command resumes.
    """

    def __init__(self, *, out_dir: Path, finished: list[FileResult], current: Path | None) -> None:
        super().__init__()
        self.out_dir, self.finished, self.current = out_dir, finished, current

    def __str__(self) -> str:
        names = [f.output.name for f in self.finished if f.output is not None]
        listed = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        kept = f"{len(names)} finished output(s) kept in {self.out_dir}" + (f" ({listed})" if listed else "")
        stopped = f"{self.current.name} was not finished and left no partial file" if self.current else "no partial file was written"
        return (
            f"{kept}; {stopped}. Run the same command again to resume: finished files are skipped. "
            "summary.csv and failures.csv are written when a run completes."
        )


class Progress:
    """What a batch has finished so far, to say what an interruption kept."""

    def __init__(self, out_dir: Path, on_file: Callable[[FileResult], None] | None) -> None:
        self.out_dir, self.on_file = out_dir, on_file
        self.finished: list[FileResult] = []
        self.current: Path | None = None  # set by the process function when it starts a file

    def file_done(self, result: FileResult) -> None:
        self.current = None
        if result.status != "failed":
            self.finished.append(result)
        if self.on_file is not None:
            self.on_file(result)

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        try:
            yield
        except BatchInterrupted:
            raise
        except KeyboardInterrupt as exc:
            for name in ("summary.csv", "failures.csv", "overview.html"):
                with contextlib.suppress(FileNotFoundError):
                    (self.out_dir / name).unlink()
            raise BatchInterrupted(out_dir=self.out_dir, finished=self.finished, current=self.current) from exc


def check_output_dir(out_dir: Path, inputs: list[Path], *, allow_input_dir: bool = False) -> None:
    """Refuse an output folder that is an input folder or would hold an input file."""
    out = out_dir.resolve()
    if out.exists() and not out.is_dir():
        raise OutputPathError(f"{out_dir} exists and is a file. Give a folder for the outputs with --out.")
    if allow_input_dir:
        return
    for path in inputs:
        if path.resolve().parent == out:
            raise OutputPathError(
                f"--out {out_dir} is the folder of the input {path}; outputs could overwrite inputs. "
                "Choose another output folder (or pass --allow-input-dir if you are sure)."
            )


def write_jsonl_stream(path: Path, records: Iterable[dict]) -> int:
    """Write records as JSONL to ``path`` atomically while they are produced."""
    n = 0
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as fh:
        for rec in records:
            fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            n += 1
    return n


def _read_meta(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None


def _counts_from_output(path: Path) -> tuple[int, Counter]:
    counts: Counter = Counter()
    n = 0
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            rec = json.loads(line)
            n += 1
            counts.update(rec.get("codes", []))
            counts.update(rec.get("parent_codes", []))
    return n, counts


def run_files(
    inputs: list[str | Path],
    *,
    out_dir: str | Path,
    process: Callable[[Path, Path], tuple[int, Counter]],
    fingerprint: dict,
    force: bool = False,
    allow_input_dir: bool = False,
    on_file: Callable[[FileResult], None] | None = None,
    prefetch: Callable[[list[Path]], None] | None = None,
) -> BatchResult:
    """Apply ``process(input, output)`` to each file with fault isolation and resume.

    Args:
        process: Writes the output for one input atomically; returns (segments, code counts).
        fingerprint: What the output depends on besides the input (model, configuration);
            stored in the metadata and compared on resume.
        prefetch: Called once, before the first ``process``, with the files that will be
            processed (in order), so that a runner can start on them ahead of the writer
            (the distributed run submits them to the cluster).
    """
    out_dir = Path(out_dir)
    files = collect_inputs(list(inputs))
    check_output_dir(out_dir, files, allow_input_dir=allow_input_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    # First decide for every file whether it is up to date, then process: the skip rules
    # live in one place and a distributed runner learns the whole to-do list up front.
    planned: list[tuple[FileResult, dict | None]] = []
    stems: dict[str, Path] = {}
    for path in files:
        result = FileResult(path=path, status="done", output=out_dir / f"{path.stem}.jsonl")
        meta = None
        with _fault_isolated(result):
            meta = _plan_file(result, out_dir / f"{path.stem}.meta.json", fingerprint=fingerprint, force=force, stems=stems)
        planned.append((result, meta))
    if prefetch is not None:
        prefetch([result.path for result, meta in planned if meta is not None])
    results: list[FileResult] = []
    for result, meta in planned:
        if meta is not None:
            with _fault_isolated(result):
                meta_path = out_dir / f"{result.path.stem}.meta.json"
                # Stale metadata goes first, so that an interruption never leaves an old
                # meta beside a new output (or the reverse) looking complete.
                if meta_path.exists():
                    meta_path.unlink()
                result.segments, result.codes = process(result.path, result.output)
                meta["segments"] = result.segments
                atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        results.append(result)
        if on_file is not None:
            on_file(result)
    return BatchResult(results)


def _plan_file(result: FileResult, meta_path: Path, *, fingerprint: dict, force: bool, stems: dict[str, Path]) -> dict | None:
    """The metadata to write once ``result.path`` is processed, or None when its output is
    up to date (``result`` is then marked skipped, with the counts of the existing output)."""
    path, output = result.path, result.output
    if path.stem in stems:
        raise AutocodeError(
            f"{path}: its output name {output.name} is already taken by {stems[path.stem]}. "
            "Rename one of the two files."
        )
    stems[path.stem] = path
    if output.resolve() == path.resolve():
        raise OutputError(f"{path}: the output would overwrite this input. Choose another --out folder.")
    meta = {
        "autocode_version": __version__,
        "source": str(path.resolve()),
        "source_sha256": sha256_file(path),
        **fingerprint,
    }
    old = None if force else _read_meta(meta_path)
    if old is not None and output.is_file() and all(old.get(k) == v for k, v in meta.items() if k != "source"):
        result.status = "skipped"
        result.segments, result.codes = _counts_from_output(output)
        return None
    return meta


@contextlib.contextmanager
def _fault_isolated(result: FileResult) -> Iterator[None]:
    """Record an error while handling one file in ``result`` instead of stopping the batch."""
    try:
        yield
    except AutocodeError as exc:
        result.status, result.error = "failed", str(exc)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - a bug on one file must not stop the batch
        result.status = "failed"
        result.error = f"{result.path}: internal error {type(exc).__name__}: {exc} (please report this with the file)"
        traceback.print_exc()


def write_batch_reports(result: BatchResult, out_dir: Path, codes: Iterable[str]) -> None:
    """``summary.csv`` (segments and counts per transcript and code) and ``failures.csv``.

    ``failures.csv`` is written by every complete run, with only its header when nothing
    failed: a batch script reads the same file after every run (and a failures.csv of an
    earlier run never outlives the run that fixed it)."""
    codes = list(codes)
    rows = []
    for f in result.ok:
        rows.append([f.path.stem, f.segments, *(f.codes.get(c, 0) for c in codes)])
    atomic_write_csv(out_dir / "summary.csv", ["transcript", "segments", *codes], rows)
    atomic_write_csv(out_dir / "failures.csv", ["file", "error"], [[str(f.path), f.error] for f in result.failed])


def segment_files(inputs, *, out_dir, config: SegmentConfig, force=False, allow_input_dir=False, on_file=None) -> BatchResult:
    """``autocode segment``: segments as JSONL, one file per input."""

    progress = Progress(Path(out_dir), on_file)

    def process(path: Path, output: Path) -> tuple[int, Counter]:
        progress.current = path
        transcript = read_transcript(path)
        n = write_jsonl_stream(output, (segment_record(s) for s in iter_segments(transcript, config=config)))
        return n, Counter()

    from dataclasses import asdict

    fingerprint = {"task": "segment", "config": json.loads(json.dumps(asdict(config)))}
    with progress.interruptible():
        return run_files(inputs, out_dir=out_dir, process=process, fingerprint=fingerprint, force=force, allow_input_dir=allow_input_dir, on_file=progress.file_done)


def segment_record(s: Segment) -> dict:
    return {
        "id": s.id,
        "transcript": s.transcript,
        "start": s.start,
        "end": s.end,
        "speaker": s.speaker,
        "role": s.role,
        "codable": s.codable,
        "text": s.text,
    }


def classify_files(inputs, *, model, out_dir, force=False, allow_input_dir=False, on_file=None, on_segments=None, overview_lang: str | None = "de") -> BatchResult:
    """``autocode classify``: coded segments as JSONL per input, plus summary, failures and
    the results overview (in ``overview_lang``; None: no overview)."""

    progress = Progress(Path(out_dir), on_file)

    def records(segments: Iterable[Segment]) -> Iterator[dict]:
        i = 0
        for i, rec in enumerate(model.code_stream(segments, chunk=CHUNK), 1):
            yield rec
            if on_segments is not None and i % CHUNK == 0:
                on_segments(CHUNK)
        if on_segments is not None and i % CHUNK:
            on_segments(i % CHUNK)

    def process(path: Path, output: Path) -> tuple[int, Counter]:
        progress.current = path
        transcript = read_transcript(path)
        # Segments stream from segmentation through embedding and classification to the
        # output, CHUNK at a time: memory does not grow with the length of the transcript.
        segments = iter_segments(transcript, config=model.config.segment)
        counts: Counter = Counter()

        def counted(recs):
            for rec in recs:
                counts.update(rec["codes"])
                counts.update(rec["parent_codes"])
                yield rec

        n = write_jsonl_stream(output, counted(records(segments)))
        return n, counts

    with progress.interruptible():
        result = run_files(inputs, out_dir=out_dir, process=process, fingerprint=classify_fingerprint(model), force=force, allow_input_dir=allow_input_dir, on_file=progress.file_done)
    finish_classify_run(result, Path(out_dir), model, overview_lang=overview_lang)
    return result


def finish_classify_run(result: BatchResult, out_dir: Path, model, *, overview_lang: str | None = "de") -> None:
    """What a complete classify run writes last, on one machine or a cluster:
    ``summary.csv``, ``failures.csv`` and ``overview.html``.

    The overview is read from the outputs just written. Should it fail, the coded outputs
    stay complete: the reason goes to ``result.overview_error`` (and a stale overview
    of an earlier run is removed) instead of an exception.
    """
    write_batch_reports(result, out_dir, list(model.codes) + list(model.codebook.parent_ids))
    if overview_lang is None or not result.ok:
        return
    from pipeline.reports.overview import OVERVIEW_FILE, model_view, write_overview

    try:
        result.overview, _ = write_overview(out_dir, model=model_view(model), paths=[f.output for f in result.ok], lang=overview_lang)
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # noqa: BLE001 - the coded outputs must survive any failure of the overview
        result.overview_error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, AutocodeError) else str(exc)
        with contextlib.suppress(FileNotFoundError):
            (out_dir / OVERVIEW_FILE).unlink()


def classify_fingerprint(model) -> dict:
    """What a classify output depends on besides its input; the same for every runner, so
    that a distributed run resumes a local one and the reverse."""
    return {
        "task": "classify",
        "model": model.name,
        "model_dir": str(Path(model.path).resolve()) if model.path else "",
        "model_fingerprint": model.fingerprint,
        "codebook_hash": model.codebook.hash,
        "config_hash": model.config.hash,
    }
