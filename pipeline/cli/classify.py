"""``autocode classify``: a folder of transcripts in, coded segments out."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import (
    INPUT_FORMATS,
    app,
    at_least_one,
    default_model_dir,
    fail,
    note,
    peak_memory,
    reports_errors,
)


@app.command()
@reports_errors
def classify(
    inputs: Annotated[list[Path], typer.Argument(help=f"Transcript files or folders (in a folder: every {INPUT_FORMATS} file, in sorted order).", show_default=False, metavar="INPUT...")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <input stem>.jsonl, summary.csv and failures.csv.", metavar="FOLDER")],
    model: Annotated[Optional[Path], typer.Option(help="Model folder (default: the shipped default model).", metavar="FOLDER")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo files whose outputs are already up to date.")] = False,
    allow_input_dir: Annotated[bool, typer.Option("--allow-input-dir", help="Allow writing into the folder of an input.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar and no table.")] = False,
    scheduler: Annotated[Optional[str], typer.Option(help="Code on the Dask cluster of this scheduler (tcp://HOST:8786); workers need the inputs and the model under the same paths.", show_default=False, metavar="ADDRESS")] = None,
    workers: Annotated[Optional[int], typer.Option(callback=at_least_one, help="Code on a Dask cluster of N worker processes started on this machine.", show_default=False, metavar="N")] = None,
    overview_lang: Annotated[str, typer.Option("--overview-lang", help="Language of OUT/overview.html: de or en ('autocode overview OUT --lang en' re-creates it).", metavar="LANG")] = "de",
) -> None:
    """Code transcripts with a trained model.

    Writes one JSON object per segment (id, transcript, start, end, speaker, role, text,
    codes, parent_codes, scores) to OUT/<input stem>.jsonl, counts per transcript and
    code to OUT/summary.csv, failed files with their reasons to OUT/failures.csv (always
    written: only its header when nothing failed), and a
    results overview to read in the browser to OUT/overview.html. A re-run skips files whose outputs are up to date. With --scheduler or --workers the
    files are coded on a Dask cluster, with the same outputs. Exit code 0: all files coded;
    1: some failed (the others are complete); 2: usage error.
    """
    from tqdm import tqdm

    from pipeline.core.io import check_output_path
    from pipeline.learn.model import load_model
    from pipeline.run.batch import classify_files
    from pipeline.text.ingest import collect_inputs

    check_output_path(out, kind="folder", option="--out")
    if scheduler is not None and workers is not None:
        raise fail("give --scheduler (an existing cluster) or --workers (a cluster on this machine), not both.", code=2)
    from pipeline.reports.overview import LANGUAGES  # here: it imports numpy, which --help need not

    if overview_lang not in LANGUAGES:
        raise fail(f"--overview-lang {overview_lang!r}: expected one of {', '.join(LANGUAGES)}.", code=2)
    model_dir = model or default_model_dir()
    loaded = load_model(model_dir)
    n_files = len(collect_inputs(list(inputs)))
    bar = tqdm(total=n_files, unit="file", file=sys.stderr, disable=True if quiet else None, desc="classify")
    # Segments coded, under the file bar: a large transcript holds the file bar still for
    # minutes. Shown only once coding has taken a few seconds.
    segment_bar = tqdm(unit=" segments", unit_scale=True, file=sys.stderr, disable=True if quiet else None, desc="coded", position=1, leave=False, delay=3)

    def on_file(f):
        bar.update(1)
        if f.status == "failed":
            bar.write(f"autocode: FAILED {f.path}: {f.error}", file=sys.stderr)

    if scheduler is not None or workers is not None:
        from pipeline.run.distributed import classify_files_on_cluster, cluster_client

        with cluster_client(scheduler=scheduler, workers=workers) as client:
            result = classify_files_on_cluster(inputs, model=loaded, out_dir=out, client=client, force=force, allow_input_dir=allow_input_dir, on_file=on_file, overview_lang=overview_lang)
    else:
        result = classify_files(inputs, model=loaded, out_dir=out, force=force, allow_input_dir=allow_input_dir, on_file=on_file, on_segments=segment_bar.update, overview_lang=overview_lang)
    segment_bar.close()
    bar.close()
    ok = result.ok
    n_segments = sum(f.segments for f in ok)
    skipped = sum(f.status == "skipped" for f in ok)
    if not quiet and ok:
        width = max(len(c) for c in loaded.codes + loaded.codebook.parent_ids)
        lines = [f"{'code':<{width}}  segments"]
        for code in loaded.codebook.parent_ids + loaded.codes:
            lines.append(f"{code:<{width}}  {sum(f.codes.get(code, 0) for f in ok):>8}")
        typer.echo("\n".join(lines), err=True)
    note(
        f"{len(ok)} file(s), {n_segments} segments coded with model {loaded.name!r} into {out}"
        + (f" ({skipped} up to date, skipped)" if skipped else "")
        + (f"; peak memory {peak_memory()}" if peak_memory() else "")
    )
    if result.overview is not None:
        note(f"results overview: {result.overview}")
    if result.failed:
        raise fail(f"{len(result.failed)} of {len(result.files)} file(s) failed; reasons in {out / 'failures.csv'}.")
    if result.overview_error:
        raise fail(
            f"the coded outputs in {out} are complete, but overview.html could not be written: {result.overview_error}. "
            f"Run 'autocode overview {out}' to try again."
        )
