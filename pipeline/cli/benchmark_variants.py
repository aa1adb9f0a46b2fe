"""``autocode benchmark variants``: how much configuration selection is worth (docs/model-selection.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import note, reports_errors
from pipeline.cli.benchmark import benchmark_app
from pipeline.core.io import check_output_path


@benchmark_app.command()
@reports_errors
def variants(
    out: Annotated[Path, typer.Option("--out", "-o", help="The JSON record to write (e.g. benchmarks/results/variants.json).", metavar="FILE")],
    corpus: Annotated[Path, typer.Option(help="Corpus folder with the interviews' codings.jsonl and literature/codings.jsonl.", metavar="FOLDER")] = Path("corpus"),
    variant: Annotated[Optional[list[str]], typer.Option(help="selection, hybrid, hybrid+fast, fixed:default, fixed:hybrid (C 1) or fixed:FAMILY@C, e.g. fixed:hybrid@30 (repeatable; default: the first five).", metavar="NAME")] = None,
    nested: Annotated[bool, typer.Option("--nested/--no-nested", help="The nested cross-validation on both registers together (the slow part).")] = True,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the nested rows of an interrupted run's record at --out (same data) and measure only the variants it lacks.")] = False,
    transfer: Annotated[bool, typer.Option("--transfer/--no-transfer", help="Also train each variant on one register and code the other, both directions.")] = False,
    germeval: Annotated[Optional[Path], typer.Option(help="Compare on GermEval 2021's training file in this folder instead of the sample corpus (its test file is not read).", metavar="FOLDER")] = None,
) -> None:
    """Selection variants under nested cross-validation on both registers of the sample
    corpus together: each outer fold runs the variant's selection on its training part.
    Writes micro- and macro-F1 with the fold-to-fold standard error, and each variant's
    paired difference to the best."""
    from pipeline.research.variants import VARIANTS, known, run_variants

    check_output_path(out, kind="file", option="--out")
    chosen = tuple(variant or VARIANTS)
    if not (nested or transfer):
        raise typer.BadParameter("--no-nested without --transfer measures nothing; give --transfer or leave out --no-nested.", param_hint="--nested")
    unknown = [v for v in chosen if not known(v)]
    if unknown:
        raise typer.BadParameter(f"expected one of {', '.join(VARIANTS)}, or fixed:FAMILY@C (default, fast or hybrid at C > 0), "
                                f"found {', '.join(unknown)}.", param_hint="--variant")
    run_variants(corpus, out, variants=chosen, nested=nested, transfer=transfer and germeval is None, resume=resume, germeval=germeval, progress=note)
    note(f"wrote {out} and {out.with_suffix('.md')}")
