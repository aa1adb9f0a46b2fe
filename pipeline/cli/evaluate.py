"""``autocode evaluate``: cross-validated quality of a configuration on hand codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from pipeline.cli._app import HAND_CODE_FORMATS, app, default_model_dir, note, reports_errors


def format_scores(cv: dict) -> str:
    width = max([len(c) for c in cv["per_code"]] + [4])
    lines = [f"{'code':<{width}}  support  precision  recall     F1"]
    rows = list(cv["per_code"].items()) + list(cv.get("parent_per_code", {}).items())
    for code, r in rows:
        lines.append(f"{code:<{width}}  {r['support']:>7}  {r['precision']:>9.3f}  {r['recall']:>6.3f}  {r['f1']:>5.3f}")
    lines.append(f"micro-F1 {cv['micro_f1']:.3f}   macro-F1 {cv['macro_f1']:.3f}   (leaf codes, {cv['fold_rule']})")
    if "accuracy" in cv:
        lines.append(f"accuracy {cv['accuracy']:.3f} (single-label: the one predicted code is the hand code)")
    if "parent_macro_f1" in cv:
        lines.append(f"parent level: micro-F1 {cv['parent_micro_f1']:.3f}   macro-F1 {cv['parent_macro_f1']:.3f}")
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
    coder: Annotated[Optional[str], typer.Option(help="Whose codes are the truth (default: the coder with most codings).", metavar="NAME")] = None,
    texts: Annotated[Optional[list[Path]], typer.Option(help="Folder with the coded documents (repeatable).", metavar="FOLDER")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON to this file.", metavar="FILE")] = None,
    learning_curve: Annotated[bool, typer.Option("--learning-curve", help="Also train on 1/8, 1/4, 1/2, 3/4 of each training fold: how quality grows with the number of coded segments, and per code how many coded segments --target-f1 needs.")] = False,
    target_f1: Annotated[float, typer.Option(help="With --learning-curve: the F1 per code to estimate the needed coded segments for.", min=0.01, max=1.0)] = 0.7,
) -> None:
    """Cross-validate a model configuration on hand-coded data.

    Trains and tests in folds grouped by document (no interview on both sides), with
    thresholds chosen inside each training fold, and prints precision, recall and F1 per
    code and for the parent codes, with micro and macro averages.
    """
    from pipeline.core.codebook import load_codebook
    from pipeline.text.codings import read_hand_codes
    from pipeline.core.config import load_config
    from pipeline.learn.cv import cross_validate
    from pipeline.core.io import atomic_write_text
    from pipeline.learn.model import load_model
    from pipeline.learn.fit import build_training_set

    if config is None or codebook is None:
        loaded = load_model(model or default_model_dir())
    run_config = load_config(config) if config else loaded.config
    book = load_codebook(codebook) if codebook else loaded.codebook
    hand = read_hand_codes(coded, codebook=book, texts=texts or ())
    data = build_training_set(hand, codebook=book, config=run_config, coder=coder)
    note(f"evaluating on {len(data.segments)} segments from {len(set(data.groups))} documents (coder {data.coder!r})")
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
