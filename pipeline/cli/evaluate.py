"""``autocode evaluate``: cross-validated quality of a configuration on hand codes."""

from __future__ import annotations

import json
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
    default_model_dir,
    note,
    reports_errors,
)


def format_scores(cv: dict) -> str:
    width = max([len(c) for c in cv["per_code"]] + [4])
    lines = [f"{'code':<{width}}  support  precision  recall     F1"]
    rows = list(cv["per_code"].items()) + list(cv.get("parent_per_code", {}).items())
    for code, r in rows:
        lines.append(f"{code:<{width}}  {r['support']:>7}  {r['precision']:>9.3f}  {r['recall']:>6.3f}  {r['f1']:>5.3f}")
    lines.append(f"micro-F1 {cv['micro_f1']:.3f}   macro-F1 {cv['macro_f1']:.3f}   (leaf codes, {cv['fold_rule']})")
    if "accuracy" in cv:
        lines.append(f"accuracy {cv['accuracy']:.3f} (one code per segment at most: the share of segments whose predicted code, or no code, is the hand code's)")
    if "parent_macro_f1" in cv:
        lines.append(f"parent level: micro-F1 {cv['parent_micro_f1']:.3f}   macro-F1 {cv['parent_macro_f1']:.3f}")
    if cv.get("per_coder"):
        lines.append(f"the figures above score against the combined codes (rule '{cv['combine']}'); against each coder's own codes:")
        lines.append(f"{'coder':<{width}}  segments  micro-F1  macro-F1")
        for who, r in cv["per_coder"].items():
            lines.append(f"{who:<{width}}  {r['segments']:>8}  {r['micro_f1']:>8.3f}  {r['macro_f1']:>8.3f}")
    return "\n".join(lines)


def format_curve(points: list[dict]) -> str:
    lines = ["", "learning curve (same folds; training segments per fold → quality on the held-out documents)", "training segments  micro-F1  macro-F1"]
    for p in points:
        lines.append(f"{p['train_segments']:>17}  {p['micro_f1']:>8.3f}  {p['macro_f1']:>8.3f}")
    if len(points) >= 2:
        gain = points[-1]["macro_f1"] - points[-2]["macro_f1"]
        lines.append(
            f"the last step ({points[-2]['train_segments']} → {points[-1]['train_segments']} segments) changed macro-F1 by {gain:+.3f}: "
            + ("coding more segments is likely to pay off." if gain > 0.01 else "more of the same codings is unlikely to help much.")
        )
    return "\n".join(lines)


@app.command()
@reports_errors
def evaluate(
    coded: Annotated[list[Path], typer.Argument(help=f"Hand-code files: {HAND_CODE_FORMATS}.", show_default=False, metavar="CODED...")],
    model: Annotated[Optional[Path], typer.Option(help="Model whose configuration and code system are evaluated (default: the shipped default model).", metavar="FOLDER")] = None,
    config: Annotated[Optional[Path], typer.Option(help="Evaluate this run configuration instead of the model's.", metavar="FILE")] = None,
    codebook: Annotated[Optional[Path], typer.Option(help="Evaluate with this code system instead of the model's.", metavar="FILE")] = None,
    coder: Annotated[Optional[list[str]], typer.Option(help="Whose codes are the truth (default: the coder with most codings). " + CODER_HELP + " The figures are then given against the combined codes and against each coder.", metavar="NAME")] = None,
    combine: Annotated[Combine, typer.Option(help=COMBINE_HELP, metavar="RULE")] = Combine.union,
    texts: Annotated[Optional[list[Path]], typer.Option(help="Folder with the coded documents (repeatable).", metavar="FOLDER")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON to this file.", metavar="FILE")] = None,
    learning_curve: Annotated[bool, typer.Option("--learning-curve", help="Also train on 1/8, 1/4, 1/2, 3/4 of each training fold: how quality grows with the number of coded segments, and per code how many coded segments --target-f1 needs.")] = False,
    target_f1: Annotated[float, typer.Option(help="With --learning-curve: the F1 per code to estimate the needed coded segments for.", min=0.01, max=1.0)] = 0.7,
    allow_new_codes: Annotated[bool, typer.Option("--allow-new-codes", help=ALLOW_NEW_CODES_HELP)] = False,
) -> None:
    """Cross-validate a model configuration on hand-coded data.

    Trains and tests in folds grouped by document (no interview on both sides), with
    thresholds chosen inside each training fold, and prints precision, recall and F1 per
    code and for the parent codes, with micro and macro averages. The model's training
    procedure chooses nothing but thresholds, which are chosen inside each training
    fold, so these figures are those of the procedure on new documents of the same kind.
    """
    from pipeline.core.codebook import load_codebook
    from pipeline.core.config import load_config
    from pipeline.core.io import atomic_write_text, check_output_path
    from pipeline.learn.cv import cross_validate
    from pipeline.learn.fit import build_training_set
    from pipeline.learn.model import load_model
    from pipeline.text.codings import read_hand_codes
    from pipeline.text.project import project_codebook

    if json_out is not None:
        check_output_path(json_out, kind="file", option="--json")
    model_dir = model or default_model_dir()
    if config is None or codebook is None:
        loaded = load_model(model_dir)
    run_config = load_config(config) if config else loaded.config
    book = load_codebook(codebook) if codebook else (project_codebook(coded) or loaded.codebook)
    hand = read_hand_codes(coded, codebook=book, texts=texts or (), allow_new_codes=allow_new_codes)
    data = build_training_set(hand, codebook=book, config=run_config, coder=coder, combine=combine.value)
    who = f"coders {', '.join(data.coders)} combined by '{data.combine}'" if data.combine else f"coder {data.coder!r}"
    note(f"evaluating on {len(data.segments)} segments from {len(set(data.groups))} documents ({who})")
    cv = cross_validate(data, config=run_config)
    if cv["fold_note"]:
        note(cv["fold_note"])
    typer.echo(format_scores(cv))
    if learning_curve:
        from pipeline.research.evaluate import learning_curve as curve

        cv["learning_curve"] = curve(data, config=run_config)
        typer.echo(format_curve(cv["learning_curve"]))
        from pipeline.research.evaluate import segments_needed

        needed = segments_needed(cv["learning_curve"], target=target_f1)
        cv["segments_needed"] = {x.code: {"target": x.target, "total": x.total, "ceiling": x.ceiling, "sentence": x.sentence} for x in needed}
        typer.echo(f"\nhow many coded segments reach F1 {target_f1:.2f} per code (fitted to the curve above):")
        for x in needed:
            typer.echo(x.sentence)
    if json_out:
        atomic_write_text(json_out, json.dumps(cv, indent=2, ensure_ascii=False) + "\n")
