"""``autocode overview``: the results overview of a classify output folder, re-created."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import app, default_model_dir, fail, not_negative, note, reports_errors


@app.command()
@reports_errors
def overview(
    out_dir: Annotated[Path, typer.Argument(help="The --out folder of 'autocode classify'.", show_default=False, metavar="OUT_DIR")],
    lang: Annotated[str, typer.Option(help="Language of the page: de or en.", metavar="LANG")] = "de",
    model: Annotated[Optional[Path], typer.Option(help="The model that coded the outputs (default: the one named in their .meta.json where it still exists, else the default model).", show_default=False, metavar="FOLDER")] = None,
    window: Annotated[int, typer.Option(callback=not_negative, help="Codable segments on each side that count as 'near' for co-occurrence (0 or more).", metavar="N")] = 2,
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Write the page here instead of OUT_DIR/overview.html.", show_default=False, metavar="FILE")] = None,
) -> None:
    """Write OUT_DIR/overview.html: what the model coded and why, to read in a browser.

    One self-contained page (no server, nothing loaded from the internet): the code ×
    document matrix (the counts of summary.csv and their share of each document's codable
    segments), code co-occurrence, per code the highest-scored and the borderline segments
    in the transcript's own words, the words that weigh most for each code and the nearest
    anchor examples, with filters by document, code, speaker role and score.
    'autocode classify' writes it too; use this command for another language or after
    changing the folder. Exit code 0: written; 1: failure; 2: usage error.
    """
    from pipeline.learn.model import load_model
    from pipeline.reports.overview import LANGUAGES, coded_by, model_view, overview_inputs, write_overview

    if lang not in LANGUAGES:
        raise fail(f"--lang {lang!r}: expected one of {', '.join(LANGUAGES)}.", code=2)
    if not out_dir.is_dir():
        raise fail(f"{out_dir} is not a folder. Pass the --out folder of 'autocode classify'.", code=2)
    paths = overview_inputs(out_dir)
    model_dir = model or coded_by(paths) or default_model_dir()
    loaded = load_model(model_dir)
    target, ov = write_overview(out_dir, model=model_view(loaded), paths=paths, lang=lang, target=out, window=window)
    for warning in ov.warnings:
        if warning.startswith("other_model:"):
            note(f"warning: outputs coded by another model than {model_dir} ({warning.split(':', 1)[1]}); pass the model that coded them with --model.")
    note(f"{len(ov.documents)} document(s), {sum(d.segments for d in ov.documents)} segments; overview written to {target}")
