"""``autocode segment``: transcripts in, segments with offsets out (JSONL)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import INPUT_FORMATS, app, fail, note, reports_errors


@app.command()
@reports_errors
def segment(
    inputs: Annotated[list[Path], typer.Argument(help=f"Transcript files or folders ({INPUT_FORMATS}).", show_default=False, metavar="INPUT...")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for <input stem>.jsonl files.", metavar="FOLDER")],
    config: Annotated[Optional[Path], typer.Option(help="Run configuration (YAML); its 'segment' section is used.", metavar="FILE")] = None,
    unit: Annotated[Optional[str], typer.Option(help="Coding unit: sentence, turn or window (overrides the configuration).", metavar="UNIT")] = None,
    force: Annotated[bool, typer.Option("--force", help="Redo files whose output is already up to date.")] = False,
    allow_input_dir: Annotated[bool, typer.Option("--allow-input-dir", help="Allow writing into the folder of an input.")] = False,
) -> None:
    """Split transcripts into coding units and write them as JSONL.

    Each line holds id, transcript, start and end (character offsets into the original
    text, end exclusive), speaker, role (respondent, interviewer, body, heading,
    footnote, unit), codable and the cleaned text that would be embedded.
    """
    import dataclasses

    from pipeline.core.config import SegmentConfig, load_config
    from pipeline.core.io import check_output_path
    from pipeline.run.batch import segment_files

    check_output_path(out, kind="folder", option="--out")
    seg_config = load_config(config).segment
    if unit is not None:
        seg_config = dataclasses.replace(seg_config, unit=unit)
        SegmentConfig.__post_init__(seg_config)
    result = segment_files(inputs, out_dir=out, config=seg_config, force=force, allow_input_dir=allow_input_dir)
    for f in result.files:
        if f.status == "failed":
            note(f"FAILED {f.path}: {f.error}")
    done = [f for f in result.files if f.status != "failed"]
    note(f"{len(done)} file(s) segmented into {sum(f.segments for f in done)} segments in {out}")
    if result.failed:
        raise fail(f"{len(result.failed)} of {len(result.files)} file(s) failed; see the messages above.")
