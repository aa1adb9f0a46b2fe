"""``autocode benchmark variants``: fixed configurations compared under the same cross-validation (docs/model-selection.md)."""

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
    variant: Annotated[Optional[list[str]], typer.Option(help="fixed:FAMILY[@C][:weight=W] with FAMILY hybrid (the shipped configuration), e5 or fast, C the regularisation and W the embedding's weight against the n-grams, e.g. fixed:hybrid@30 or fixed:hybrid:weight=2 (repeatable; default: the three families at their own C).", metavar="NAME")] = None,
    nested: Annotated[bool, typer.Option("--nested/--no-nested", help="The cross-validation on both registers together.")] = True,
    size: Annotated[Optional[list[int]], typer.Option(help="Also a learning-curve point: each outer fold trains on whole documents until this many segments (repeatable, e.g. --size 50 --size 100).", metavar="N")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Keep the nested rows of an interrupted run's record at --out (same data) and measure only the variants it lacks.")] = False,
    transfer: Annotated[bool, typer.Option("--transfer/--no-transfer", help="Also train each variant on one register and code the other, both directions.")] = False,
    germeval: Annotated[Optional[Path], typer.Option(help="Compare on GermEval 2021's training file in this folder instead of the sample corpus (its test file is not read).", metavar="FOLDER")] = None,
    manifesto: Annotated[Optional[Path], typer.Option(help="Compare on the training part of --split of the Manifesto data in this folder (manifesto_de_2021; its test part is not read).", metavar="FOLDER")] = None,
    split: Annotated[str, typer.Option(help="With --manifesto: the protocol's split, in-domain or new-documents.", metavar="SPLIT")] = "new-documents",
) -> None:
    """Fixed configurations compared on the same document-grouped folds of both registers
    of the sample corpus together (or GermEval 2021's training file, or a Manifesto
    split's training part). Writes micro- and
    macro-F1 with the fold-to-fold standard error, and each variant's paired difference
    to the best."""
    from pipeline.research.variants import FAMILY_NAMES, VARIANTS, known, run_variants

    check_output_path(out, kind="file", option="--out")
    if germeval is not None and manifesto is not None:
        raise typer.BadParameter("give --germeval or --manifesto, not both: each is a data set of its own.", param_hint="--manifesto")
    from pipeline.research.benchmark import SPLITS

    if split not in SPLITS:
        raise typer.BadParameter(f"expected {' or '.join(SPLITS)}, found {split!r}.", param_hint="--split")
    if manifesto is not None and size:
        raise typer.BadParameter("--size draws whole coded documents of the sample corpus; with --manifesto leave it out.", param_hint="--size")
    chosen = tuple(variant or VARIANTS)
    if not (nested or transfer or size):
        raise typer.BadParameter("--no-nested without --transfer or --size measures nothing; give one, or leave out --no-nested.", param_hint="--nested")
    if any(n < 1 for n in size or ()):
        raise typer.BadParameter(f"expected a number of segments of at least 1, found {min(size)}.", param_hint="--size")
    kept = set()
    if resume and out.is_file():
        import json

        # Rows of an earlier run are kept as they are, also of variants this version no longer measures.
        kept = set(json.loads(out.read_text(encoding="utf-8")).get("nested", {}).get("variants", {}))
    unknown = [v for v in chosen if not known(v) and v not in kept]
    if unknown:
        raise typer.BadParameter(f"expected fixed:FAMILY[@C][:weight=W] with FAMILY one of {', '.join(FAMILY_NAMES)}, C > 0 and W > 0, "
                                f"found {', '.join(unknown)}.", param_hint="--variant")
    run_variants(corpus, out, variants=chosen, nested=nested, transfer=transfer and germeval is None and manifesto is None, sizes=tuple(size or ()),
                 resume=resume, germeval=germeval, manifesto=manifesto, split=split, progress=note)
    note(f"wrote {out} and {out.with_suffix('.md')}")
