"""``autocode train``: hand codes in, a model folder out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import (
    ALLOW_NEW_CODES_HELP,
    CODER_HELP,
    COMBINE_HELP,
    HAND_CODE_FORMATS,
    Combine,
    app,
    note,
    reports_errors,
)


@app.command()
@reports_errors
def train(
    coded: Annotated[list[Path], typer.Argument(help=f"Hand-code files: {HAND_CODE_FORMATS}.", show_default=False, metavar="CODED...")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the trained model.", metavar="FOLDER")],
    codebook: Annotated[Optional[Path], typer.Option(help="Code system (YAML). Without it, the codes found in the hand codes are used.", metavar="FILE")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Run configuration (YAML): segmentation, embedder, classifier, training (default: the shipped one, configs/default.yaml).", metavar="FILE")] = None,
    coder: Annotated[Optional[list[str]], typer.Option(help="Whose codes to learn when several coders coded (default: the one with most codings). " + CODER_HELP, metavar="NAME")] = None,
    combine: Annotated[Combine, typer.Option(help=COMBINE_HELP, metavar="RULE")] = Combine.union,
    texts: Annotated[Optional[list[Path]], typer.Option(help="Folder with the coded documents, if not beside the hand-code file or in its transcripts/ folder (repeatable).", metavar="FOLDER")] = None,
    name: Annotated[str, typer.Option(help="Model name, shown in outputs and exports (default: the --out folder's name).", metavar="NAME", show_default=False)] = "",
    cv: Annotated[bool, typer.Option("--cv/--no-cv", help="Run the grouped cross-validation for the model card (--no-cv: faster, no figures; the model is the same).")] = True,
    allow_new_codes: Annotated[bool, typer.Option("--allow-new-codes", help=ALLOW_NEW_CODES_HELP)] = False,
) -> None:
    """Train a classifier on your hand codes.

    Segments the coded documents, labels each segment with the codes whose spans cover
    it, embeds the segments, fits one classifier per code with a decision threshold
    chosen by cross-validation grouped by document, and writes a model folder with a
    model card (README.md) holding the cross-validated figures.

    Without --config the shipped configuration is trained: e5-small embeddings beside
    word and character n-grams, one logistic regression per code. Nothing but each code's
    threshold is chosen on your hand codes, so the card's figures are not flattered by
    a choice (docs/model-selection.md says why there is no configuration selection).
    """
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.core.io import check_output_path
    from pipeline.learn.model import save_model
    from pipeline.learn.train import train as train_model
    from pipeline.text.project import project_codebook

    check_output_path(out, kind="folder", option="--out")
    run_config = load_config(config)
    book = load_codebook(codebook) if codebook else project_codebook(coded)
    model = train_model(coded, config=run_config, codebook=book, coder=coder, combine=combine.value, texts=texts or (),
                        name=name or out.name, evaluate=cv, allow_new_codes=allow_new_codes)
    save_model(model, out)
    t = model.card["training"]
    who = f"coders {', '.join(t['coders'])} combined by '{t['combine']}'" if t.get("combine") else f"coder {t['coder']!r}"
    note(f"trained on {t['segments']} segments ({t['coded_segments']} coded) from {t['documents']} documents, {who}")
    if t.get("fold_note"):
        note(t["fold_note"])
    if model.config.classifier.labels == "multi" and t.get("max_codes_per_segment") == 1 and sum(n > 0 for n in t.get("per_code", {}).values()) >= 2:
        note("no coded segment carries two codes: if your codes exclude each other, a configuration with "
             "classifier.labels: exclusive (one code or none per segment) may code better; compare with 'autocode evaluate --config FILE'")
    if "cv" in model.card:
        c = model.card["cv"]
        note(f"cross-validated ({c['fold_rule']}): micro-F1 {c['micro_f1']:.3f}, macro-F1 {c['macro_f1']:.3f}"
             + (" against the combined codes" if c.get("per_coder") else ""))
        for who, r in c.get("per_coder", {}).items():
            note(f"  against coder {who!r} ({r['segments']} segments): micro-F1 {r['micro_f1']:.3f}, macro-F1 {r['macro_f1']:.3f}")
    typer.echo(str(out))
