"""Agreement figures on coded units: per code and over the code system, per pair of
coders, the humans among themselves first and the model against each human apart
(in-sample and out-of-sample documents reported separately), with the reasons for every
undefined value.

:func:`assess_coded` takes the :class:`~pipeline.agreement.units.CodedUnits` that
:mod:`pipeline.agreement.units` builds from codings; :func:`assess_table` a wide table of
categories; :func:`assess` is one rating matrix.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from pipeline.agreement.bootstrap import AlphaBootstrap, bootstrap_alpha
from pipeline.agreement.coefficients import krippendorff_alpha
from pipeline.agreement.ratings import LEVELS, WEIGHT_NAMES, Estimate, contingency_table, encode_ratings
from pipeline.agreement.registry import COEFFICIENTS, INTERVAL_METHODS, agreement_summary
from pipeline.agreement.unitizing import UnitizingResult
from pipeline.agreement.units import MODEL_PREFIX, CodedUnits
from pipeline.core.errors import InputError

#: Coefficients shown for each pair of coders.
PAIR_COEFFICIENTS = ("percent_agreement", "cohen_kappa", "brennan_prediger", "gwet_ac1", "krippendorff_alpha")


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PairResult:
    """Agreement of two coders on one item; ``confusion[k, l]``: a said k, b said l."""

    coder_a: str
    coder_b: str
    n_units: int
    estimates: dict[str, Estimate]
    confusion: np.ndarray = field(repr=False)

    @property
    def involves_model(self) -> bool:
        return self.coder_a.startswith(MODEL_PREFIX) or self.coder_b.startswith(MODEL_PREFIX)


@dataclass(frozen=True)
class ItemAgreement:
    """All coefficients for one item: one code, the whole code system, or a table.

    Attributes:
        n_units: Units rated by two or more coders (those that enter observed agreement).
        n_rated: Units rated by at least one coder (those that enter the category
            proportions of the κ family and AC1, as in irrCAC).
        reasons: Coefficient -> why its value is NaN.
        weights: The agreement weights of the κ family and AC1/AC2.
    """

    name: str
    level: str
    categories: tuple
    n_units: int
    estimates: dict[str, Estimate]
    pairs: tuple[PairResult, ...]
    bootstrap: AlphaBootstrap | None = None
    note: str = ""
    n_rated: int = 0
    reasons: dict[str, str] = field(default_factory=dict)
    weights: str = "identity"

    def interval(self, name: str) -> tuple[float, float]:
        """The one 95 % interval of coefficient ``name`` that every output shows
        (:data:`pipeline.agreement.registry.INTERVAL_METHODS`): α's bootstrap interval
        over units (NaN without a bootstrap), the t interval for the others."""
        if INTERVAL_METHODS.get(name) == "bootstrap":
            return self.bootstrap.ci if self.bootstrap is not None else (math.nan, math.nan)
        est = self.estimates.get(name)
        return est.ci if est is not None else (math.nan, math.nan)

    def standard_error(self, name: str) -> float:
        """The standard error that belongs to :meth:`interval` (the bootstrap's for α)."""
        if INTERVAL_METHODS.get(name) == "bootstrap":
            return self.bootstrap.se if self.bootstrap is not None else math.nan
        est = self.estimates.get(name)
        return est.se if est is not None else math.nan


@dataclass(frozen=True)
class Disagreement:
    """One unit on which the coders did not all say the same, for the consensus discussion.

    ``text`` is the original text of the unit (a slice of the document by offsets, not
    the cleaned text); ``start``/``end`` locate it (-1 where unknown).
    """

    unit: str
    document: str
    text: str
    item: str
    values: tuple[tuple[str, str], ...]  # (coder, what they coded), "" = did not code the unit
    start: int = -1
    end: int = -1


@dataclass(frozen=True)
class ModelComparison:
    """The model against one human coder on one sample of documents.

    Attributes:
        sample: ``"in-sample"`` (documents the model was trained on), ``"out-of-sample"``
            or ``"unknown"`` (the model card does not list its training documents).
        documents: The documents of this sample that both coded.
        overall: The code system pooled; ``items``: per code.
    """

    model: str
    human: str
    sample: str
    documents: tuple[str, ...]
    overall: ItemAgreement
    items: tuple[ItemAgreement, ...]


@dataclass(frozen=True)
class AgreementResult:
    """Everything ``autocode agreement`` reports.

    ``overall`` and ``items`` are human–human figures where there are two or more human
    coders; otherwise they compare the one human with the model(s). ``pooled`` holds the
    figures over all coders including the model (labelled as such in every output),
    ``model_vs_human`` the model against each human, split into in-sample and
    out-of-sample documents.
    """

    unit: str
    rule: str
    coders: tuple[str, ...]
    overall: ItemAgreement
    items: tuple[ItemAgreement, ...]
    disagreements: tuple[Disagreement, ...]
    model_coders: tuple[str, ...] = ()
    human_coders: tuple[str, ...] = ()
    pooled: ItemAgreement | None = None
    model_vs_human: tuple[ModelComparison, ...] = ()
    model_training: dict[str, tuple[str, ...] | None] = field(default_factory=dict)
    unitizing: UnitizingResult | None = None
    notes: tuple[tuple[str, dict], ...] = ()
    sources: tuple[tuple[str, str], ...] = ()
    models: dict[str, dict] = field(default_factory=dict)
    n_documents: int = 0
    rule_parts: tuple[tuple[str, dict], ...] = ()


# --------------------------------------------------------------------------- computing


def nan_reason(codes: np.ndarray, n_categories: int, coefficient: str = "") -> str:
    """Why a coefficient is undefined (NaN) on ``codes``, in words.

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
    """
    rated = (codes >= 0).sum(axis=1)
    if not (rated >= 2).any():
        return "fewer than two coders on every unit"
    used = np.unique(codes[codes >= 0])
    if len(used) <= 1:
        return "one category only: every rating is the same (no variation), so chance agreement is 1"
    if coefficient == "cohen_kappa":
        both = (codes >= 0).all(axis=1)
        if any(len(np.unique(codes[both, g])) <= 1 for g in range(codes.shape[1])):
            return "each coder used one category only on the common units (no variation)"
    return "chance agreement is 1 (no variation that agreement could be measured on)"


def assess(
    codes: np.ndarray, *, coders: Sequence[str], categories: Sequence, name: str,
    level: str = "nominal", values: Sequence[float] | None = None, n_boot: int = 1000, seed: int = 0,
    weights: str = "identity",
) -> ItemAgreement:
    """Every coefficient, every coder pair and a bootstrap α for one rating matrix.

    The κ family, AC1 and percent agreement are computed as irrCAC does: every unit with
    one or more ratings enters the category proportions, units with two or more the
    observed agreement. Krippendorff's α uses the pairable units (its definition).

    Parameters
    ----------
    codes : ndarray of int, shape (n_units, n_coders)
        Category indices into ``categories``, -1 missing.
    coders : sequence of str, length n_coders
    categories : sequence
        The category set; its length is ``q``.
    level : str
        Krippendorff's metric for α.
    values : sequence of float, optional
        Numeric value of each category (ordinal/interval/ratio α, weights).
    weights : str
        Gwet's agreement weights for the κ family, AC2 and percent agreement
        (:data:`pipeline.agreement.ratings.WEIGHT_NAMES`).
    n_boot : int
        Bootstrap resamples for α (0: none).
    """
    q = len(categories)
    codes = np.asarray(codes)
    rated = (codes >= 0).sum(axis=1)
    n_rated = int((rated >= 1).sum())
    if not (rated >= 2).any():
        return ItemAgreement(name, level, tuple(categories), 0, {}, (), None,
                             "no unit was coded by two or more coders", n_rated,
                             {"all": "fewer than two coders on every unit"}, weights)
    used = codes[rated >= 1]
    estimates = agreement_summary(used, n_categories=q, level=level, values=values, weights=weights)
    reasons = {k: nan_reason(used, q, k) for k, e in estimates.items() if not np.isfinite(e.value)}
    pairable = codes[rated >= 2]
    boot = None
    if n_boot and np.isfinite(estimates["krippendorff_alpha"].value):
        boot = bootstrap_alpha(pairable, n_categories=q, level=level, values=values, n_boot=n_boot, seed=seed)
    pairs = []
    for a, b in combinations(range(len(coders)), 2):
        sub = codes[:, [a, b]]
        both = (sub >= 0).all(axis=1)
        if not both.any():
            continue
        sub = sub[both]
        est = {}
        for key in PAIR_COEFFICIENTS:
            if key == "krippendorff_alpha":
                est[key] = krippendorff_alpha(sub, n_categories=q, level=level, values=values)
            else:
                est[key] = COEFFICIENTS[key].compute(sub, n_categories=q, weights=weights, values=values)
        pairs.append(PairResult(coders[a], coders[b], int(both.sum()), est, contingency_table(sub, q)))
    return ItemAgreement(name, level, tuple(categories), int(len(pairable)), estimates, tuple(pairs), boot,
                         "", n_rated, reasons, weights)


def _items(units: CodedUnits, cols: Sequence[int], rows_keep: np.ndarray | None, *, n_boot: int, seed: int,
           name: str = "code system") -> tuple[ItemAgreement, tuple[ItemAgreement, ...], list[np.ndarray]]:
    """Per-code items and the pooled code-system item for a subset of coders and units.

    Only units that two or more of these coders coded enter: a unit one coder alone coded
    (another document, or a passage the others did not code) says nothing about agreement,
    and would still move the category proportions of the κ family and their intervals."""
    coders = [units.coders[g] for g in cols]
    both = (~np.isnan(units.values[:, list(cols), :])).any(axis=2).sum(axis=1) >= 2
    rows_keep = both if rows_keep is None else rows_keep & both
    items: list[ItemAgreement] = []
    pooled: list[np.ndarray] = []
    for code in units.codes:
        matrix, rows = units.code_matrix(code)
        matrix = matrix[:, list(cols)]
        if rows_keep is not None:
            keep = rows_keep[rows]
            matrix, rows = matrix[keep], rows[keep]
        item = assess(matrix, coders=coders, categories=("absent", "present"), name=code, n_boot=n_boot, seed=seed)
        if not (matrix == 1).any():
            item = ItemAgreement(item.name, item.level, item.categories, item.n_units, item.estimates, item.pairs,
                                 item.bootstrap, "nobody used this code", item.n_rated, item.reasons, item.weights)
        items.append(item)
        pooled.append(matrix)
        if units.unit == "document":
            freq, frows = units.code_matrix(code, presence=False)
            freq = freq[:, list(cols)]
            if rows_keep is not None:
                freq = freq[rows_keep[frows]]
            top = int(freq.max(initial=0))
            items.append(assess(freq, coders=coders, categories=tuple(range(top + 1)), name=f"{code} (frequency)",
                                level="interval", values=list(range(top + 1)), n_boot=n_boot, seed=seed))
    allcodes = np.concatenate(pooled) if pooled else np.empty((0, len(cols)), dtype=np.int64)
    overall = assess(allcodes, coders=coders, categories=("absent", "present"), name=name, n_boot=n_boot, seed=seed)
    return overall, tuple(items), pooled


def _nan_notes(item: ItemAgreement) -> list[tuple[str, dict]]:
    """One note per item and reason, naming the coefficients it makes undefined."""
    grouped: dict[str, list[str]] = defaultdict(list)
    for coef, reason in item.reasons.items():
        grouped[reason].append(coef)
    return [("nan", {"item": item.name, "coefficient": ", ".join(coefs), "reason": reason})
            for reason, coefs in grouped.items()]


def assess_coded(units: CodedUnits, *, n_boot: int = 1000, seed: int = 0) -> AgreementResult:
    """Per-code agreement and agreement over the whole code system, humans first.

    Per code, each unit is a present/absent decision (nominal). For ``document`` units
    a second item per code, ``<code> (frequency)``, uses the number of codings per
    document with the interval metric. The whole code system pools every
    (unit, code) decision into one binary rating matrix.

    With two or more human coders the main figures are human–human; the model is
    compared with each human separately, on the documents it was trained on
    (in-sample: these figures flatter the model) and on the others (out-of-sample),
    and the pooled figures over all coders are kept apart (:attr:`AgreementResult.pooled`).
    """
    models = units.model_coders
    humans = tuple(c for c in units.coders if c not in models)
    human_cols = [units.coders.index(c) for c in humans]
    all_cols = list(range(len(units.coders)))
    main_cols = human_cols if len(humans) >= 2 else all_cols
    overall, items, _ = _items(units, main_cols, None, n_boot=n_boot, seed=seed,
                               name="code system" + (" (human coders)" if models and len(humans) >= 2 else ""))
    pooled = None
    if models and len(humans) >= 2:
        pooled, _, _ = _items(units, all_cols, None, n_boot=n_boot, seed=seed, name="code system (all coders, model included)")

    notes: list[tuple[str, dict]] = []
    comparisons: list[ModelComparison] = []
    docs = np.array(units.documents)
    for m in models:
        g_m = units.coders.index(m)
        trained = units.model_training.get(m)
        for h in humans:
            g_h = units.coders.index(h)
            both = ~np.isnan(units.values[:, g_m, 0]) & ~np.isnan(units.values[:, g_h, 0])
            common = sorted(set(docs[both]))
            if not common:
                continue
            if trained is None:
                samples = [("unknown", common)]
            else:
                samples = [("in-sample", [d for d in common if d in trained]),
                           ("out-of-sample", [d for d in common if d not in trained])]
            for sample, sample_docs in samples:
                if not sample_docs:
                    continue
                keep = np.isin(docs, sample_docs)
                o, its, _ = _items(units, [g_h, g_m], keep, n_boot=n_boot, seed=seed,
                                   name=f"{m} vs {h} ({sample})")
                comparisons.append(ModelComparison(m, h, sample, tuple(sample_docs), o, its))
        if trained is None:
            notes.append(("training_unknown", {"model": m}))
        else:
            compared = sorted({d for c in comparisons if c.model == m for d in c.documents})
            inside = [d for d in compared if d in trained]
            if compared and len(inside) == len(compared):
                notes.append(("all_in_sample", {"model": m, "n": len(compared)}))
            elif inside:
                notes.append(("some_in_sample", {"model": m, "n_in": len(inside), "n_out": len(compared) - len(inside)}))
    if models and len(humans) < 2:
        notes.append(("one_human", {"human": ", ".join(humans) or "none"}))
    if units.unit == "span":
        notes.append(("span_collapse", {}))
    if units.unit == "segment":
        notes.append(("segment_counts", {"n_segments": len(units.unit_ids), "n_codes": len(units.codes),
                                         "n_decisions": overall.n_units}))
    for item in (overall, *items):
        notes.extend(_nan_notes(item))

    disagreements: list[Disagreement] = []
    for code in units.codes:
        matrix, rows = units.code_matrix(code)
        for row, ratings in zip(rows, matrix):
            present = ratings[ratings >= 0]
            if len(present) >= 2 and present.min() != present.max():
                start, end = units.offsets[row] if units.offsets else (-1, -1)
                disagreements.append(Disagreement(
                    units.unit_ids[row], units.documents[row], units.texts[row], code,
                    tuple((c, "" if v < 0 else ("yes" if v else "no")) for c, v in zip(units.coders, ratings)),
                    start, end,
                ))
    return AgreementResult(units.unit, units.rule, units.coders, overall, items, tuple(disagreements), models,
                           humans, pooled, tuple(comparisons), dict(units.model_training), units.unitizing,
                           tuple(notes), units.sources, dict(units.models), len(set(units.documents)),
                           units.rule_parts)


def assess_table(
    rows: Sequence[tuple[str, Sequence[str]]], *, coders: Sequence[str], level: str = "nominal",
    weights: str = "identity", n_boot: int = 1000, seed: int = 0,
) -> AgreementResult:
    """Agreement on a wide table: ``rows`` are ``(unit_id, [cell per coder])``.

    For ordinal, interval and ratio levels, and for weights other than ``identity``
    (which need ordered categories), every cell must be a number; the categories are
    the distinct values, sorted.
    """
    if level not in LEVELS:
        raise InputError(f"--level must be one of {', '.join(LEVELS)}, found {level!r}.")
    if weights not in WEIGHT_NAMES:
        raise InputError(f"--weights must be one of {', '.join(WEIGHT_NAMES)}, found {weights!r}.")
    cells = [list(r[1]) for r in rows]
    values = None
    numeric = level != "nominal" or weights != "identity"
    if numeric:
        parsed = []
        for (uid, _), row in zip(rows, cells):
            out = []
            for coder, cell in zip(coders, row):
                cell = cell.strip()
                if not cell:
                    out.append(None)
                    continue
                try:
                    out.append(float(cell.replace(",", ".")) if cell.count(",") == 1 and "." not in cell else float(cell))
                except ValueError:
                    need = f"{level} data" if level != "nominal" else f"--weights {weights} (ordered categories)"
                    raise InputError(
                        f"Unit {uid!r}, coder {coder!r}: {need} needs numbers, found {cell!r}. "
                        "Use --level nominal and --weights identity for category names."
                    ) from None
            parsed.append(out)
        cells = parsed
    codes, categories = encode_ratings(cells)
    if numeric:
        values = [float(c) for c in categories]
    item = assess(codes, coders=coders, categories=categories, name="table", level=level, values=values,
                  n_boot=n_boot, seed=seed, weights=weights)
    if not item.estimates:
        raise InputError(
            "No pairable unit: no row of the table has values from two or more coders. "
            "Check that each coder has a column and blanks mark only missing ratings."
        )
    disagreements = tuple(
        Disagreement(uid, "", "", "table", tuple((c, str(categories[v]) if v >= 0 else "") for c, v in zip(coders, r)))
        for (uid, _), r in zip(rows, codes)
        if (r >= 0).sum() >= 2 and len(set(r[r >= 0])) > 1
    )
    rule = (f"one row of the table per unit; {len(coders)} coders; level {level}; weights {weights}; "
            f"{item.n_rated} units with one or more ratings enter the category proportions, "
            f"{item.n_units} with two or more the observed agreement")
    notes = tuple(_nan_notes(item))
    parts = (("table", {"n_coders": len(coders), "level": level, "weights": weights, "n_rated": item.n_rated,
                        "n_units": item.n_units}),)
    return AgreementResult("table", rule, tuple(coders), item, (), disagreements, (), tuple(coders), notes=notes,
                           rule_parts=parts)
