"""``autocode import`` and ``autocode export``: exchange with QDA programs via REFI-QDA."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import app, note, reports_errors


class Unit(str, Enum):
    auto = "auto"
    codepoint = "codepoint"
    utf16 = "utf16"


class Crlf(str, Enum):
    auto = "auto"
    two = "two"
    one = "one"


class Format(str, Enum):
    qdpx = "qdpx"
    qdc = "qdc"


UNIT_HELP = (
    "How the program counted text positions: codepoint (REFI-QDA standard, QualCoder, "
    "ATLAS.ti, MAXQDA) or utf16 (NVivo; emoji count twice). auto: detect from the project."
)
CRLF_HELP = (
    "How a Windows line break (CR LF) was counted: two (standard, NVivo) or one "
    "(ATLAS.ti, MAXQDA). auto: detect from the project."
)


@app.command("import")
@reports_errors
def import_(
    project: Annotated[Path, typer.Argument(help="A REFI-QDA project (.qdpx) or codebook (.qdc) exported by MAXQDA, ATLAS.ti, NVivo or QualCoder.", show_default=False, metavar="PROJECT")],
    out: Annotated[Path, typer.Option("--out", "-o", help="New or empty folder for transcripts/, codings.jsonl, codebook.yaml.", metavar="FOLDER")],
    offset_unit: Annotated[Unit, typer.Option(help=UNIT_HELP, metavar="UNIT")] = Unit.auto,
    crlf: Annotated[Crlf, typer.Option(help=CRLF_HELP, metavar="COUNT")] = Crlf.auto,
    sources_dir: Annotated[Optional[Path], typer.Option(help="Folder holding sources the project links to outside the archive (relative:// or absolute:// paths).", metavar="FOLDER")] = None,
) -> None:
    """Bring hand codes from a QDA program into autocode.

    Writes each text source as OUT/transcripts/<name>.txt, every coding as a line of
    OUT/codings.jsonl (coder = the program's user who made it), the code system as
    OUT/codebook.yaml, and OUT/qda_project.json with the GUIDs for exporting back.
    Everything that was skipped is listed, with the reason. Train with
    'autocode train OUT/codings.jsonl --codebook OUT/codebook.yaml'.
    """
    from pipeline.core.io import check_output_path
    from pipeline.qda.importer import write_import

    check_output_path(out, kind="folder", option="--out")
    from pipeline.qda.refi import read_qdpx

    if project.suffix.lower() == ".qdc":
        from pipeline.qda.importer import import_qdc

        n = import_qdc(project, out)
        note(f"{n} codes from {project.name} written to {out / 'codebook.yaml'}")
        return
    result = read_qdpx(
        project,
        unit=None if offset_unit is Unit.auto else offset_unit.value,
        crlf=None if crlf is Crlf.auto else crlf.value,
        sources_dir=sources_dir,
    )
    summary = write_import(result, out)
    for warning in result.warnings:
        note(f"warning: {warning}")
    per_coder = ", ".join(f"{coder}: {n}" for coder, n in summary["codings_per_coder"].items()) or "none"
    note(
        f"{project.name} ({result.origin or 'unknown program'}): {summary['sources']} sources, {summary['codes']} codes, "
        f"{len(summary['coders'])} coders, {summary['codings']} codings ({per_coder})"
    )
    note(f"positions read as {result.convention}: {result.convention_reason}")
    note(f"written to {out}; {len(result.warnings)} warning(s), also in {out / 'import_summary.json'}")
    typer.echo(json.dumps({k: v for k, v in summary.items() if k != "warnings"}, ensure_ascii=False))


@app.command("export")
@reports_errors
def export(
    inputs: Annotated[list[Path], typer.Argument(help="Classify outputs (.jsonl files or the classify --out folder); for --format qdc a codebook .yaml, a model folder or an import folder.", show_default=False, metavar="OUTPUT...")],
    out: Annotated[Path, typer.Option("--out", "-o", help="The file to write (.qdpx or .qdc); never an input.", metavar="FILE")],
    format: Annotated[Format, typer.Option("--format", help="qdpx: a project with the model's codings; qdc: the code system.", metavar="FORMAT")] = Format.qdpx,
    merge: Annotated[Optional[Path], typer.Option(help="The .qdpx the hand codes were imported from: keep it whole and add the model's codings.", metavar="FILE")] = None,
    offset_unit: Annotated[Unit, typer.Option(help="Positions to write: codepoint (standard) or utf16 (NVivo). auto: standard, or as the --merge project.", metavar="UNIT")] = Unit.auto,
    crlf: Annotated[Crlf, typer.Option(help="CR LF to write as two positions (standard, NVivo) or one (ATLAS.ti, MAXQDA). auto: standard, or as the --merge project.", metavar="COUNT")] = Crlf.auto,
    name: Annotated[str, typer.Option(help="Project name for a new project (default: 'autocode <model>').", metavar="NAME", show_default=False)] = "",
    allow_new_codes: Annotated[bool, typer.Option("--allow-new-codes", help="Export codes that are not in the model's code system (an edited classify output) as codes of their own, saying so on stderr, instead of failing.")] = False,
) -> None:
    """Take the model's codes back into a QDA program (REFI-QDA).

    The model's codings belong to their own user, 'autocode <model>', with the score
    in each selection's description, so you can review them beside your own. Import
    the .qdpx in your program (e.g. MAXQDA: Import > REFI-QDA project).
    """
    from pipeline.core.io import check_output_path

    check_output_path(out, kind="file", option="--out", suffixes=(f".{format.value}",))
    if format is Format.qdc:
        from pipeline.qda.export import export_codebook_from

        written = export_codebook_from(inputs, out)
        note(f"code system written to {written}")
        return
    from pipeline.qda.export import export_qdpx
    from pipeline.qda.offsets import OffsetConvention

    unit = None if offset_unit is Unit.auto else offset_unit.value
    crlf_ = None if crlf is Crlf.auto else crlf.value
    offsets = None
    if merge is None or (unit and crlf_):
        offsets = OffsetConvention(unit or "codepoint", crlf_ or "two")
    # When merging, what is not chosen is taken from the project's own convention.
    result = export_qdpx(inputs, out, merge=merge, offsets=offsets, project_name=name, unit=unit, crlf=crlf_, allow_new_codes=allow_new_codes)
    note(f"{result.codings} codings on {result.sources} documents by user '{result.user}' written to {out} ({result.convention})")
    if result.added_sources:
        note(f"not in {merge.name if merge else 'the project'}, added as new sources: {', '.join(result.added_sources)}")
    if result.added_codes:
        note(f"codes added to the code system: {', '.join(result.added_codes)}")
