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

import json
import traceback
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pipeline import __version__
from pipeline.errors import AutocodeError, OutputError
from pipeline.ingest import collect_inputs, read_transcript
from pipeline.io import atomic_open, atomic_write_csv, atomic_write_text, sha256_file
from pipeline.segment import SegmentConfig, segment_transcript
from pipeline.types import Segment

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

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    @property
    def ok(self) -> list[FileResult]:
        return [f for f in self.files if f.status != "failed"]


def check_output_dir(out_dir: Path, inputs: list[Path], *, allow_input_dir: bool = False) -> None:
    """Refuse an output folder that is an input folder or would hold an input file."""
    out = out_dir.resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out_dir} exists and is a file. Give a folder for the outputs with --out.")
    if allow_input_dir:
        return
    for path in inputs:
        if path.resolve().parent == out:
            raise OutputError(
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
) -> BatchResult:
    """Apply ``process(input, output)`` to each file with fault isolation and resume.

    Args:
        process: Writes the output for one input atomically; returns (segments, code counts).
        fingerprint: What the output depends on besides the input (model, configuration);
            stored in the metadata and compared on resume.
    """
    out_dir = Path(out_dir)
    files = collect_inputs(list(inputs))
    check_output_dir(out_dir, files, allow_input_dir=allow_input_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results: list[FileResult] = []
    stems: dict[str, Path] = {}
    for path in files:
        output = out_dir / f"{path.stem}.jsonl"
        meta_path = out_dir / f"{path.stem}.meta.json"
        result = FileResult(path=path, status="done", output=output)
        try:
            if path.stem in stems:
                raise AutocodeError(
                    f"{path}: its output name {output.name} is already taken by {stems[path.stem]}. "
                    "Rename one of the two files."
                )
            stems[path.stem] = path
            if output.resolve() == path.resolve():
                raise OutputError(f"{path}: the output would overwrite this input. Choose another --out folder.")
            digest = sha256_file(path)
            meta = {
                "autocode_version": __version__,
                "source": str(path.resolve()),
                "source_sha256": digest,
                **fingerprint,
            }
            old = None if force else _read_meta(meta_path)
            if old is not None and output.is_file() and all(old.get(k) == v for k, v in meta.items() if k != "source"):
                result.status = "skipped"
                result.segments, result.codes = _counts_from_output(output)
            else:
                # Stale metadata goes first, so that an interruption never leaves an old
                # meta beside a new output (or the reverse) looking complete.
                if meta_path.exists():
                    meta_path.unlink()
                result.segments, result.codes = process(path, output)
                meta["segments"] = result.segments
                atomic_write_text(meta_path, json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
        except AutocodeError as exc:
            result.status, result.error = "failed", str(exc)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug on one file must not stop the batch
            result.status = "failed"
            result.error = f"{path}: internal error {type(exc).__name__}: {exc} (please report this with the file)"
            traceback.print_exc()
        results.append(result)
        if on_file is not None:
            on_file(result)
    return BatchResult(results)


def write_batch_reports(result: BatchResult, out_dir: Path, codes: Iterable[str]) -> None:
    """``summary.csv`` (segments and counts per transcript and code) and ``failures.csv``."""
    codes = list(codes)
    rows = []
    for f in result.ok:
        rows.append([f.path.stem, f.segments, *(f.codes.get(c, 0) for c in codes)])
    atomic_write_csv(out_dir / "summary.csv", ["transcript", "segments", *codes], rows)
    failures = out_dir / "failures.csv"
    if result.failed:
        atomic_write_csv(failures, ["file", "error"], [[str(f.path), f.error] for f in result.failed])
    elif failures.exists():
        failures.unlink()


def segment_files(inputs, *, out_dir, config: SegmentConfig, force=False, allow_input_dir=False, on_file=None) -> BatchResult:
    """``autocode segment``: segments as JSONL, one file per input."""

    def process(path: Path, output: Path) -> tuple[int, Counter]:
        transcript = read_transcript(path)
        segments = segment_transcript(transcript, config=config)
        n = write_jsonl_stream(output, (segment_record(s) for s in segments))
        return n, Counter()

    from dataclasses import asdict

    fingerprint = {"task": "segment", "config": json.loads(json.dumps(asdict(config)))}
    return run_files(inputs, out_dir=out_dir, process=process, fingerprint=fingerprint, force=force, allow_input_dir=allow_input_dir, on_file=on_file)


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


def classify_files(inputs, *, model, out_dir, force=False, allow_input_dir=False, on_file=None, on_segments=None) -> BatchResult:
    """``autocode classify``: coded segments as JSONL per input, plus summary and failures."""

    def records(segments: list[Segment]) -> Iterator[dict]:
        for i, rec in enumerate(model.code_stream(segments, chunk=CHUNK), 1):
            yield rec
            if on_segments is not None and i % CHUNK == 0:
                on_segments(CHUNK)
        if on_segments is not None and segments and len(segments) % CHUNK:
            on_segments(len(segments) % CHUNK)

    def process(path: Path, output: Path) -> tuple[int, Counter]:
        transcript = read_transcript(path)
        segments = segment_transcript(transcript, config=model.config.segment)
        counts: Counter = Counter()

        def counted(recs):
            for rec in recs:
                counts.update(rec["codes"])
                counts.update(rec["parent_codes"])
                yield rec

        n = write_jsonl_stream(output, counted(records(segments)))
        return n, counts

    fingerprint = {
        "task": "classify",
        "model": model.name,
        "model_dir": str(Path(model.path).resolve()) if model.path else "",
        "model_fingerprint": model.fingerprint,
        "codebook_hash": model.codebook.hash,
        "config_hash": model.config.hash,
    }
    result = run_files(inputs, out_dir=out_dir, process=process, fingerprint=fingerprint, force=force, allow_input_dir=allow_input_dir, on_file=on_file)
    write_batch_reports(result, Path(out_dir), list(model.codes) + list(model.codebook.parent_ids))
    return result
