"""``autocode agreement``: how reliably do coders (and the model) code the same material?"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import ALLOW_NEW_CODES_HELP, app, fail, note, reports_errors
from pipeline.core.io import atomic_write_text, check_output_path, classify_output_files

# The agreement code imports scipy.stats: a second that every other command and --help
# would pay if it were imported here. The names the help lists are copied from it
# (tests/test_cli_conventions.py checks that they agree).
WEIGHT_NAMES = ("identity", "linear", "quadratic", "ordinal", "radical", "ratio", "circular", "bipolar")


@app.command()
@reports_errors
def agreement(
    codings: Annotated[Optional[list[Path]], typer.Argument(
        help="Hand-code files of the coders (span or unit format), review project folders and classify outputs (the "
             "model as one more coder); a classify output folder stands for its .jsonl files.", show_default=False, metavar="CODINGS...")] = None,
    unit: Annotated[str, typer.Option(
        help="Unit of analysis: 'segment' (same segments, each code present/absent), 'span' (free character "
             "ranges: Krippendorff's unitizing αu on the text, and units joined by overlap as a secondary view) or "
             "'document' (code present in / frequency per document).", metavar="UNIT")] = "segment",
    report: Annotated[Optional[Path], typer.Option(
        help="Folder for report.html, figures.csv, pairs.csv and disagreements.csv.", metavar="FOLDER")] = None,
    table: Annotated[Optional[Path], typer.Option(
        help="A wide CSV instead of coding files: first column unit id, one column per coder, cell = category, "
             "blank = missing.", metavar="FILE")] = None,
    level: Annotated[str, typer.Option(
        help="Level of measurement of --table cells for Krippendorff's α: nominal, ordinal, interval or ratio.", metavar="LEVEL")] = "nominal",
    weights: Annotated[str, typer.Option(
        help="--table: agreement weights for Cohen's/Fleiss'/Conger's κ, Brennan–Prediger and Gwet's AC2 when the "
             "categories are ordered numbers: " + ", ".join(WEIGHT_NAMES) + ".", metavar="WEIGHTS")] = "identity",
    lang: Annotated[str, typer.Option(help="Language of report.html: de (German) or en (English).", metavar="LANG")] = "de",
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Write the figures as JSON here.", metavar="FILE")] = None,
    codebook: Annotated[Optional[Path], typer.Option(
        help="Code system (YAML): fixes the list and order of codes and rejects unknown codes. Without it, codes are "
             "checked against the code system of the model whose classify output is given, else compared across "
             "coders (a code one coder alone uses, near another coder's code, stops the command as a likely typo).",
        metavar="FILE")] = None,
    texts: Annotated[Optional[list[Path]], typer.Option(
        help="Folder with the documents that span files refer to (repeatable).", metavar="FOLDER")] = None,
    min_overlap: Annotated[float, typer.Option(
        help="Share of a segment or span that another span must cover to count as the same coding.", metavar="SHARE")] = 0.5,
    count_uncoded: Annotated[bool, typer.Option("--count-uncoded",
        help="--unit span: count text that no coder coded as agreement (off: uncoded text never counts).")] = False,
    bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples for the confidence interval of α (0: none).", metavar="N")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed for the bootstrap.", metavar="N")] = 0,
    allow_new_codes: Annotated[bool, typer.Option("--allow-new-codes", help=ALLOW_NEW_CODES_HELP)] = False,
    include_assisted: Annotated[bool, typer.Option("--include-assisted",
        help="Review projects: count decisions made with the model's proposals shown too (default: blind decisions only).")] = False,
) -> None:
    """Inter-coder agreement: percent agreement, Cohen's κ, Scott's π, Fleiss' κ, Conger's κ,
    Brennan–Prediger κ, Gwet's AC1/AC2 and Krippendorff's α (with bootstrap interval), per code
    and per pair of coders; for free spans Krippendorff's unitizing αu.

    Human–human figures come first. The model is compared with each human apart, and
    figures on the documents it was trained on are marked in-sample. The report is German
    by default (--lang en for English). Krippendorff: α ≥ .80 reliable, ≥ .667 tentative.
    """
    from pipeline.agreement.assess import assess_coded, assess_table
    from pipeline.agreement.ratings import LEVELS, WEIGHT_NAMES
    from pipeline.agreement.units import UNITS, load_coded_units, read_table

    if table is not None and codings:
        raise fail("give either coding files or --table, not both.", code=2)
    if table is None and not codings:
        raise fail("nothing to compare: give coding files (and/or classify outputs) or --table FILE.csv.", code=2)
    if unit not in UNITS:
        raise fail(f"--unit must be one of {', '.join(UNITS)}, not {unit!r}.", code=2)
    if level not in LEVELS:
        raise fail(f"--level must be one of {', '.join(LEVELS)}, not {level!r}.", code=2)
    if weights not in WEIGHT_NAMES:
        raise fail(f"--weights must be one of {', '.join(WEIGHT_NAMES)}, not {weights!r}.", code=2)
    if weights != "identity" and table is None:
        raise fail("--weights applies to --table input with ordered numeric categories; coded files give "
                   "present/absent decisions, for which weights change nothing.", code=2)
    if lang not in ("de", "en"):
        raise fail(f"--lang must be de or en, not {lang!r}.", code=2)
    if report is None and json_path is None:
        raise fail("say where the results go: --report DIR and/or --json PATH.", code=2)
    if report is not None:
        check_output_path(report, kind="folder", option="--report")
    if json_path is not None:
        check_output_path(json_path, kind="file", option="--json")

    if table is not None:
        rows, coders = read_table(table)
        note(f"{len(rows)} units, {len(coders)} coders from {table}")
        result = assess_table(rows, coders=coders, level=level, weights=weights, n_boot=bootstrap, seed=seed)
    else:
        book = None
        if codebook is not None:
            from pipeline.core.codebook import load_codebook

            book = load_codebook(codebook)
        if book is None:
            from pipeline.text.project import project_codebook

            book = project_codebook(codings)  # a review project's decisions are in its own code system
        codings = classify_output_files(codings)
        units = load_coded_units(codings, unit=unit, codebook=book, texts=texts or (), min_overlap=min_overlap,
                                 count_uncoded=count_uncoded, allow_new_codes=allow_new_codes, assisted=include_assisted)
        note(f"{len(units.unit_ids)} units, {len(units.coders)} coders ({', '.join(units.coders)}), "
             f"{len(units.codes)} codes; {units.n_shared} units coded by two or more coders")
        result = assess_coded(units, n_boot=bootstrap, seed=seed)

    if json_path is not None:
        from pipeline.reports.agreement import result_to_json

        atomic_write_text(json_path, json.dumps(result_to_json(result), ensure_ascii=False, indent=2) + "\n")
        note(f"figures written to {json_path}")
    if report is not None:
        from pipeline.reports.agreement import write_report

        paths = write_report(result, report, lang=lang)
        note(f"report written to {paths[0]}")
    from pipeline.reports.agreement import note_text

    entered = ", ".join(f"{k} {e.n_units}" for k, e in result.overall.estimates.items())
    note(f"units entering each coefficient ({result.overall.name}): {entered}")
    for n in result.notes:
        if n[0] != "segment_counts":
            note(note_text(n, "en"))
    for c in result.model_vs_human:
        a = c.overall.estimates.get("krippendorff_alpha")
        if a is not None:
            note(f"{c.model} vs {c.human}, {c.sample} ({len(c.documents)} documents): α = {a.value:.4f}")
    if result.unitizing is not None:
        typer.echo(f"unitizing_alpha\t{result.unitizing.overall.alpha:.4f}")
    alpha = result.overall.estimates.get("krippendorff_alpha")
    if alpha is not None:
        note(f"krippendorff_alpha on stdout: {result.overall.name}")
        typer.echo(f"krippendorff_alpha\t{alpha.value:.4f}")
