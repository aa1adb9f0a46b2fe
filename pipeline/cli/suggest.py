"""``autocode suggest``: which segments to code next (active learning)."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import (
    ALLOW_NEW_CODES_HELP,
    CODER_HELP,
    COMBINE_HELP,
    Combine,
    app,
    at_least_one,
    note,
    reports_errors,
)


class SuggestFormat(str, Enum):
    csv = "csv"
    qdpx = "qdpx"


@app.command()
@reports_errors
def suggest(
    coded: Annotated[list[Path], typer.Argument(help="Your hand-code files so far (span or unit format).", show_default=False, metavar="FILE...")],
    pool: Annotated[list[Path], typer.Option("--pool", help="Documents or folders to choose the next segments from (repeat the option for several).", show_default=False, metavar="INPUT")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Where to write the suggestions (.csv, or .qdpx with --format qdpx).", metavar="FILE")],
    n: Annotated[int, typer.Option("--n", help="How many segments to suggest.", callback=at_least_one, metavar="N")] = 50,
    model: Annotated[Optional[Path], typer.Option(help="Score with this trained model instead of training one on CODED.", metavar="FOLDER")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Code system (YAML) for training (default: the codes found in the hand codes).", metavar="FILE")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Run configuration for training (default: autocode's default).", metavar="FILE")] = None,
    coder: Annotated[Optional[list[str]], typer.Option(help="Whose hand codes count, as in 'autocode train' (default: the coder with most codings); the first named is the coder written into the CSV. " + CODER_HELP, metavar="NAME")] = None,
    combine: Annotated[Combine, typer.Option(help=COMBINE_HELP, metavar="RULE")] = Combine.union,
    texts: Annotated[Optional[list[Path]], typer.Option(help="Folder(s) with the coded documents, if not beside the hand-code file.", metavar="FOLDER")] = None,
    format: Annotated[SuggestFormat, typer.Option("--format", help="csv: a unit file to fill in and train on; qdpx: a REFI-QDA project with the segments marked.")] = SuggestFormat.csv,
    seed: Annotated[int, typer.Option(help="Seed of the tie-breaks (same seed, same suggestions).", metavar="N")] = 0,
    strategy: Annotated[str, typer.Option(help="balanced (default: uncertainty, rare codes, density, diversity, many codes per batch, new documents), uncertainty, diverse, rare or random.", metavar="NAME")] = "balanced",
    allow_new_codes: Annotated[bool, typer.Option("--allow-new-codes", help=ALLOW_NEW_CODES_HELP)] = False,
) -> None:
    """Suggest the segments whose coding would teach the model most.

    Trains a model on CODED (or loads --model), scores every uncoded, codable segment of
    the --pool documents and picks N: segments whose codes the model is unsure about
    (near a code's threshold, or between two codes), weighted towards typical segments,
    codes with few hand codes and documents not coded yet, and spread out: over many codes,
    and no two near-copies.
    Interviewer turns and segments already coded are never suggested.

    The CSV has the columns id,text,codes,coder,document,start,end,scores,reason: fill
    the codes column (several codes separated by ';'; an empty cell means none of the
    codes, so delete rows you did not code) and train on CODED plus this file.
    """
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.core.io import check_output_path
    from pipeline.learn.active_learning import STRATEGIES
    from pipeline.learn.model import load_model
    from pipeline.research.active import suggest as run_suggest
    from pipeline.research.active import write_suggestions_csv, write_suggestions_qdpx
    from pipeline.text.project import project_codebook

    # A .qdpx must be named so (the REFI-QDA exporter refuses other names, after the training).
    check_output_path(out, kind="file", option="--out", suffixes=(".qdpx",) if format is SuggestFormat.qdpx else (),
                      example=f"suggestions.{format.value}")
    if strategy not in STRATEGIES:
        raise typer.BadParameter(f"{strategy!r} unknown; choose from {', '.join(STRATEGIES)}.", param_hint="--strategy")
    loaded = load_model(model) if model else None
    book = load_codebook(codebook) if codebook else project_codebook(coded)
    run_config = None if loaded else load_config(config)
    result = run_suggest(coded, pool, n=n, config=run_config, codebook=book, model=loaded, coder=coder, combine=combine.value,
                         texts=texts or (), seed=seed, strategy=strategy, allow_new_codes=allow_new_codes)
    ex = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in sorted(result.excluded.items())) or "none"
    note(f"{result.pool} candidate segments in the pool (left out: {ex}); {len(result.suggestions)} suggested")
    note("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in result.seconds.items()))
    if format is SuggestFormat.qdpx:
        written = write_suggestions_qdpx(result.suggestions, result.transcripts, out, codebook=result.model.codebook, model=result.model.name)
        note(f"wrote {written.path}: {written.codings} segments marked with the code 'autocode: zu kodieren' in {written.sources} documents")
    else:
        writer = result.coders[0] if result.coders else result.coder
        if len(result.coders) > 1:
            note(f"scored by a model of coders {', '.join(result.coders)} combined by '{combine.value}'; "
                 f"the coder column says {writer!r}: change it if someone else codes the file")
        write_suggestions_csv(result.suggestions, out, coder=writer, inputs=[*coded, *pool])
        note(f"wrote {out}: fill the codes column, then train on your hand codes plus this file")
    typer.echo(str(out))

