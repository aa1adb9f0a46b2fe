"""The model card (README.md of a model folder): what a model learned from, and how far
its figures can be trusted, for the researcher who uses it.

It opens in plain words — from how many examples of which coders, which codes are too
thin to judge, what the figures mean — and then gives the details: the configuration
and the procedure, the cross-validated figures per code with a 95%
interval, package versions. Everything comes from the card data :func:`pipeline.learn.model.save_model`
stores in model.json, so an older model's card can be written again.
"""

from __future__ import annotations

import numpy as np

from pipeline.core.config import RunConfig

#: Bootstrap resamples behind each per-code interval (seeded: the card is reproducible).
RESAMPLES = 2000


def f1_interval(support: int, predicted: int, tp: int, n: int, *, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of one code's F1, segments resampled.

    Resampling segments with replacement draws each segment's outcome for the code
    (found, wrongly given, missed, rightly left out) with the observed shares, so the
    counts suffice: a multinomial draw of ``n`` outcomes. Segments of one document are
    not independent, so the interval is, if anything, too narrow.

    Args:
        support: Segments that carry the code (hand codes); predicted: segments the model
            gave it; tp: both; n: all segments scored.
    """
    fp, fn = predicted - tp, support - tp
    tn = max(n - tp - fp - fn, 0)
    total = tp + fp + fn + tn
    if not total:
        return 0.0, 0.0
    draws = np.random.default_rng(seed).multinomial(total, np.array([tp, fp, fn, tn]) / total, size=RESAMPLES)
    denom = 2 * draws[:, 0] + draws[:, 1] + draws[:, 2]
    f1 = np.where(denom > 0, 2 * draws[:, 0] / np.maximum(denom, 1), 0.0)
    lo, hi = np.percentile(f1, [2.5, 97.5])
    return float(lo), float(hi)


def _true_positives(row: dict) -> int:
    return int(round(row["recall"] * row["support"]))


def _predicted(row: dict) -> int:
    if "predicted" in row:
        return int(row["predicted"])
    tp = _true_positives(row)
    return int(round(tp / row["precision"])) if row["precision"] else tp


def _describe_embedder(identity: dict) -> str:
    """An embedder's identity (model.json) in words."""
    e = identity
    name = e.get("name", "?") + (f" ({e['model']})" if e.get("model") else "")
    details = [f"{e['package']} {e.get('version', '')}".strip()] if e.get("package") else []
    if e.get("dim"):
        details.append(f"{e['dim']} dimensions")
    if e.get("prefix"):
        details.append(f"prefix '{e['prefix']}'")
    return name + (f" ({', '.join(details)})" if details else "")


def _describe_classifier(config: RunConfig) -> str:
    clf = config.classifier
    c = f"C={clf.C:g}"
    kind = "linear SVM" if clf.name == "svm" else "multinomial logistic regression"
    if clf.labels == "single":
        return f"single-label {kind} over all codes ({c}, class_weight={clf.class_weight})"
    if clf.labels == "exclusive":
        return (f"one code or none per segment: {kind} over all codes and 'no code' (learned from the uncoded segments); "
                f"the best code where it beats 'no code' ({c}, class_weight={clf.class_weight})")
    return f"one logistic regression per code ({c}, class_weight={clf.class_weight}), thresholds by cross-validation (grouped by document where there are enough documents)"


def _describe_features(config: RunConfig) -> str:
    f = config.features
    parts = [f"segment embedding, moved by {f.center:g} of its document's mean embedding" if f.center else "segment embedding"]
    if f.lexical:
        parts.append(f"word 1–2-gram + character 2–5-gram TF-IDF (embedding weight {f.embedding_weight})")
    if f.context:
        parts.append(f"embeddings of {f.context} neighbouring segment(s) on each side")
    if f.context_window:
        parts.append(f"mean embedding of segments {f.context + 1}–{f.context_window} away on each side")
    if f.context or f.context_window:
        parts[-1] += f" (weight {f.context_weight})"
    if f.prototypes:
        parts.append("cosine to each code's prototype (the code system's definition and anchors)")
    return "; ".join(parts)


def _describe_training(config: RunConfig) -> str:
    t = config.training
    parts = []
    if t.codebook_examples:
        parts.append(f"the code system's definitions and anchors as training examples (weight {t.codebook_examples})")
    if t.threshold_shrink and config.classifier.labels == "multi":
        parts.append(f"per-code thresholds pulled {t.threshold_shrink:g} of the way to a common one")
    return "; ".join(parts) or "hand codes only"


def _header(model) -> list[str]:
    card = model.card
    config = model.config
    lines = [
        f"- Trained: {card.get('created', '')} with autocode {card.get('packages', {}).get('autocode', '')}",
        f"- Code system: {model.codebook.name} (SHA-256 `{model.codebook.hash[:16]}…`), {len(model.codes)} codes",
        f"- Embedder: {_describe_embedder(model.embedder.identity())}",
    ]
    lines += [f"- Classifier: {_describe_classifier(config)}", f"- Features: {_describe_features(config)}"]
    return lines + [
        f"- Training: {_describe_training(config)}",
        "- Procedure: this configuration was fixed before training; nothing was chosen on these hand codes but each code's "
        "threshold, set on out-of-fold scores inside the training data (among equally good thresholds, the middle one, "
        "then pulled toward the one threshold best for all codes as training.threshold_shrink says). "
        "The cross-validated figures below are therefore not flattered by a choice.",
        f"- Segmentation: {config.segment.unit}; interviewer coded: {config.segment.code_interviewer}",
    ]


def _thin(model) -> dict[str, list[str]]:
    """The codes by how many hand-coded examples they had: ``enough``, ``thin`` (some, fewer
    than ``training.min_examples``), ``cold`` (none, learned from the code system alone),
    ``never`` (none and nothing to learn from)."""
    train = model.card.get("training", {})
    per_code = train.get("per_code", {})
    cold = set(train.get("cold_start", ()))
    least = model.config.training.min_examples
    out = {"enough": [], "thin": [], "cold": [], "never": []}
    for code in model.codes:
        n = per_code.get(code)
        if n is None:
            continue
        out["enough" if n >= least else "thin" if n else "cold" if code in cold else "never"].append(code)
    return out


def _in_short(model) -> list[str]:
    """The opening in plain words."""
    card = model.card
    train = card.get("training", {})
    if not train:
        return []
    per_code = train.get("per_code", {})
    least = model.config.training.min_examples
    who = (f"coders {', '.join(train.get('coders', []))}, their codes joined by the rule '{train['combine']}'" if train.get("combine")
           else f"coder {train.get('coder', '')}")
    groups = _thin(model)
    lines = ["", "## In short", "",
             f"This model learned from {train.get('segments', 0)} segments ({train.get('coded_segments', 0)} of them with a code) "
             f"in {train.get('documents', 0)} document(s), coded by {who}."]

    def listed(codes):
        return ", ".join(f"{c} ({per_code.get(c, 0)})" for c in codes)

    if groups["enough"]:
        lines += ["", f"- Codes with at least {least} hand-coded segments (in brackets): {listed(groups['enough'])}."]
    if groups["thin"]:
        lines += ["", f"- Too few examples to judge (fewer than {least}; 20 or more give useful quality): {listed(groups['thin'])}. "
                  "The model has learned something about them, but neither its codes nor the figures below say much: check them by hand."]
    if groups["cold"]:
        lines += ["", f"- No hand-coded example, learned from the code system's definition and anchors alone (cold start, "
                  f"flagged in the output's cold_start field): {', '.join(groups['cold'])}."]
    if groups["never"]:
        lines += ["", f"- No hand-coded example and no definition or anchors: never predicted: {', '.join(groups['never'])}."]
    cv = card.get("cv")
    if cv:
        lines += ["", "What the figures mean: each segment was coded by a model trained without it (cross-validation, by document where "
                  "there are enough documents), "
                  "and compared with the hand codes. F1 is 1 when the model gives a code exactly where the hand codes have it and 0 "
                  "when it never agrees. The 95% interval says how far the figure could move on other segments of the same kind "
                  "(a bootstrap over segments); with few examples it is wide, and below "
                  f"{least} examples no figure is given."]
    return lines


def _cv_lines(model, cv: dict) -> list[str]:
    least = model.config.training.min_examples
    lines = [
        "",
        f"## Cross-validated quality ({cv.get('fold_rule') or str(cv.get('folds')) + ' document-grouped folds'})",
        "",
        f"Micro-F1 {cv['micro_f1']:.3f}, macro-F1 {cv['macro_f1']:.3f} (leaf codes)"
        + (f"; parent level micro-F1 {cv['parent_micro_f1']:.3f}, macro-F1 {cv['parent_macro_f1']:.3f}." if "parent_macro_f1" in cv else "."),
        "",
        f"Per code, F1 with its 95% interval (percentile bootstrap over the {cv.get('segments', '')} segments, {RESAMPLES} resamples); "
        f"support: hand-coded segments. Below {least} examples: too few examples to say.",
        "",
        "| code | support | precision | recall | F1 (95% interval) | threshold |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    thresholds = dict(zip(model.codes, model.classifier.thresholds_)) if model.config.classifier.labels == "multi" else {}
    for code, row in cv["per_code"].items():
        t = thresholds.get(code)
        t = "" if t is None else f"{t:.2f}"
        if row["support"] < least:
            lines.append(f"| {code} | {row['support']} | | | too few examples to say | {t} |")
            continue
        lo, hi = f1_interval(row["support"], _predicted(row), _true_positives(row), int(cv.get("segments") or 0))
        lines.append(f"| {code} | {row['support']} | {row['precision']:.2f} | {row['recall']:.2f} | {row['f1']:.2f} ({lo:.2f}–{hi:.2f}) | {t} |")
    return lines


def model_card(model) -> str:
    """The README.md of a model directory (``model``: a :class:`pipeline.learn.model.Model`)."""
    card = model.card
    lines = [f"# Model card: {model.name}", *_in_short(model), "", "## Configuration", "", *_header(model), "", "## Training data", ""]
    train = card.get("training", {})
    if train.get("files"):
        lines.append(f"- files: {', '.join(train['files'])}")
    for key in ("documents", "segments", "coded_segments", "coder"):
        if key in train:
            lines.append(f"- {key.replace('_', ' ')}: {train[key]}")
    if train.get("combine"):
        lines.append(f"- coders combined by the rule '{train['combine']}' ({', '.join(train.get('coders', []))}): {train.get('combine_rule', '')}")
    if train.get("per_code"):
        lines.append("- hand-coded segments per code: " + ", ".join(f"{c} {n}" for c, n in train["per_code"].items()))
    groups = _thin(model)
    if groups["cold"]:
        lines.append(f"- cold start (no hand-coded segment, learned from the code system's definition and anchors; "
                     f"check their codes by hand): {', '.join(groups['cold'])}")
    cv = card.get("cv")
    if cv:
        lines += _cv_lines(model, cv)
    if cv and cv.get("per_coder"):
        lines += ["", f"Against each coder's own codes (the model learned their combination, rule '{cv.get('combine', '')}'):", "",
                  "| coder | segments | micro-F1 | macro-F1 |", "|---|---:|---:|---:|"]
        lines += [f"| {c} | {r['segments']} | {r['micro_f1']:.3f} | {r['macro_f1']:.3f} |" for c, r in cv["per_coder"].items()]
    lines += _transfer_lines(card.get("transfer"))
    lines += ["", "## Package versions", "", "```", *(f"{k}=={v}" for k, v in card.get("packages", {}).items()), "```", ""]
    return "\n".join(lines)


def _transfer_lines(transfer: dict | None) -> list[str]:
    """The register-transfer section (`autocode benchmark transfer --card`)."""
    lines: list[str] = []
    if transfer and transfer.get("directions"):
        lines += [
            "",
            "## Quality on text of another kind (register transfer)",
            "",
            "The same configuration trained on all of one register and applied to the other (`autocode benchmark transfer`), beside the coded register's own cross-validated figure:",
            "",
            "| trained on → coded | micro-F1 | macro-F1 | parent micro-F1 | CV micro-F1 of the coded register |",
            "|---|---:|---:|---:|---:|",
        ]
        for direction, row in transfer["directions"].items():
            cells = [row.get(k) for k in ("micro_f1", "macro_f1", "parent_micro_f1", "cv_micro_f1_of_coded_register")]
            lines.append(f"| {direction} | " + " | ".join("" if v is None else f"{v:.3f}" for v in cells) + " |")
        if transfer.get("cv_both"):
            both = transfer["cv_both"]
            lines += ["", f"Both registers together, cross-validated: micro-F1 {both['micro_f1']:.3f}, macro-F1 {both['macro_f1']:.3f}."]
    return lines
