"""Krippendorff's α for unitized data (αu): agreement on free spans of a text continuum.

Coders of QDA programs do not code given units; they mark stretches of text and give
them a code. Krippendorff's αu (1995; 2004, sec. 12.4) compares such unitizations
directly on the character continuum, without forming units first. For one code ``c``
every coder divides the continuum into *sections*: the spans they coded with ``c``
(``w = 1``) and the gaps between them (``w = 0``). Two sections of coders ``i`` and
``j`` that overlap contribute the squared distance

- both coded: ``(b_i - b_j)² + (e_i - e_j)²`` (squared differences of start and end);
- a coded span lying completely inside the other coder's gap: its length squared;
- otherwise 0 (a span that only partly meets a gap is accounted for by the span
  it overlaps);

and the observed disagreement is ``D_o = Σ_{i≠j} Σ δ² / (m (m - 1) L²)`` with ``m``
coders and ``L`` characters. The expected disagreement is the same quantity over all
ways of placing the coded spans of all coders into all gaps of all coders
(Krippendorff 2004, p. 253):

``D_e = (2/L) Σ_spans [ (N_c - 1)/3 · (2l³ - 3l² + l) + l² Σ_{gaps g ≥ l} (g - l + 1) ]
/ (mL (mL - 1) - Σ_spans l (l - 1))``

and ``αu = 1 - D_o / D_e``. Over the whole code system αu averages ``D_o`` and ``D_e``
over the codes that somebody used and takes their ratio (as DKPro Statistics does;
this gives 0.8587 on Krippendorff's example, published as 0.859).

Several documents form one continuum laid end to end, but no section crosses a
document boundary: a gap ends where its document ends. Only documents in which every
coder coded something enter, since an uncoded document cannot be told from a document
the coder never read. Overlapping spans of one coder with the same code are merged.

The binary ``|uα`` of Krippendorff, Mathet, Bouvry & Widlöcher (2016) -- do the coders
find the same *relevant* text, whatever its code -- is αu on the union of each coder's
spans (:func:`binary_unitizing_alpha`).

References
----------
Krippendorff, K. (1995). On the reliability of unitizing continuous data. Sociological
    Methodology, 25, 47–76.
Krippendorff, K. (2004). Content Analysis: An Introduction to Its Methodology, 2nd ed.
    Thousand Oaks, CA: Sage, pp. 251–256.
Krippendorff, K., Mathet, Y., Bouvry, S., & Widlöcher, A. (2016). On the reliability of
    unitizing textual continua: Further developments. Quality & Quantity, 50, 2347–2364.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np

from pipeline.core.errors import InputError

ALL_CODES = "all codes"


@dataclass(frozen=True)
class Span:
    """One coded stretch of a document: characters ``start`` to ``end`` (exclusive)."""

    document: str
    coder: str
    code: str
    start: int
    end: int


@dataclass(frozen=True)
class UnitizingAlpha:
    """αu for one code (or, with ``code == "all codes"``, over the code system).

    Attributes:
        code: The code, or ``"all codes"``.
        alpha: ``1 - observed / expected``; NaN with :attr:`note` saying why.
        observed, expected: ``D_o`` and ``D_e``.
        n_spans: Coded spans of this code over all coders (after merging overlaps).
        length: ``L``, characters of the continuum.
        n_coders: ``m``.
        note: Why ``alpha`` is NaN, or "" .
    """

    code: str
    alpha: float
    observed: float
    expected: float
    n_spans: int
    length: int
    n_coders: int
    note: str = ""


@dataclass(frozen=True)
class UnitizingResult:
    """αu per code and over all codes, with the continuum it was computed on."""

    overall: UnitizingAlpha
    codes: dict[str, UnitizingAlpha]
    binary: UnitizingAlpha
    documents: tuple[str, ...]
    left_out: tuple[str, ...] = ()
    coders: tuple[str, ...] = ()
    merged: int = 0
    rule: str = field(default="")


def _sections(spans: Sequence[tuple[int, int]], begin: int, end: int) -> list[tuple[int, int, bool]]:
    """A coder's continuum ``[begin, end)`` as alternating gaps and coded spans."""
    out, pos = [], begin
    for s, e in spans:
        if s > pos:
            out.append((pos, s, False))
        out.append((s, e, True))
        pos = e
    if pos < end:
        out.append((pos, end, False))
    return out


def _pair_disagreement(a: list[tuple[int, int, bool]], b: list[tuple[int, int, bool]]) -> float:
    """``Σ δ²`` over the overlapping sections of two coders (one direction)."""
    total, i, j = 0.0, 0, 0
    while i < len(a) and j < len(b):
        s1, e1, c1 = a[i]
        s2, e2, c2 = b[j]
        if c1 and c2:
            total += (s1 - s2) ** 2 + (e1 - e2) ** 2
        elif c1 and not c2 and s2 <= s1 and e1 <= e2:
            total += (e1 - s1) ** 2
        elif c2 and not c1 and s1 <= s2 and e2 <= e1:
            total += (e2 - s2) ** 2
        if e1 <= e2:
            i += 1
        if e2 <= e1:
            j += 1
    return total


def merge_spans(spans: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sorted union of ``(start, end)`` spans; touching or overlapping spans become one."""
    out: list[list[int]] = []
    for s, e in sorted(spans):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return [(s, e) for s, e in out]


def category_unitizing_alpha(
    spans: Mapping[str, Mapping[str, Sequence[tuple[int, int]]]],
    continua: Mapping[str, tuple[int, int]],
    *, code: str = "",
) -> UnitizingAlpha:
    """αu of one code.

    Parameters
    ----------
    spans : mapping coder -> document -> sequence of (start, end)
        Every coder's coded spans of this code; overlapping spans of one coder are
        merged first. A coder with no spans in a document coded none of its text.
    continua : mapping document -> (begin, end)
        The continuum of each document, e.g. ``(0, len(text))``.
    code : str
        Name for the result.

    Returns
    -------
    UnitizingAlpha

    Examples
    --------
    Krippendorff (2004, p. 254), code c of two observers on the continuum 150–450:

    >>> a = category_unitizing_alpha({"1": {"d": [(225, 295), (370, 400)]},
    ...                               "2": {"d": [(220, 300), (355, 375), (400, 420)]}}, {"d": (150, 450)})
    >>> round(a.observed, 4), round(a.expected, 4), round(a.alpha, 4)
    (0.0144, 0.0532, 0.7286)
    """
    coders = sorted(spans)
    m = len(coders)
    if m < 2:
        return UnitizingAlpha(code, math.nan, math.nan, math.nan, 0, 0, m, "fewer than two coders")
    length = 0
    for doc, (b, e) in continua.items():
        if e <= b:
            raise InputError(f"Document {doc!r}: the continuum must have positive length, found {b}..{e}.")
        length += e - b
    merged = {g: {d: merge_spans(spans[g].get(d, ())) for d in continua} for g in coders}
    for g in coders:
        for d, (b, e) in continua.items():
            for s, t in merged[g][d]:
                if s < b or t > e or t <= s:
                    raise InputError(
                        f"Coder {g!r}, document {d!r}: span {s}..{t} lies outside the text ({b}..{e}) or is empty. "
                        "Fix the offsets in the coding file."
                    )
    observed = 0.0
    for d, (b, e) in continua.items():
        sections = {g: _sections(merged[g][d], b, e) for g in coders}
        for g, h in combinations(coders, 2):
            observed += 2 * _pair_disagreement(sections[g], sections[h])
    d_o = observed / (m * (m - 1) * float(length) ** 2)

    units = np.array([t - s for g in coders for d in continua for s, t in merged[g][d]], dtype=float)
    gaps = np.sort(np.array(
        [t - s for g in coders for d, (b, e) in continua.items()
         for s, t, coded in _sections(merged[g][d], b, e) if not coded], dtype=float))
    n_c = len(units)
    if n_c == 0:
        return UnitizingAlpha(code, math.nan, d_o, 0.0, 0, length, m, "no coder used this code (no variation)")
    # Σ over gaps ≥ l of (g - l + 1), for every span length l at once.
    suffix = np.concatenate([np.cumsum(gaps[::-1])[::-1], [0.0]])
    first = np.searchsorted(gaps, units, side="left")
    n_ge = len(gaps) - first
    fits = suffix[first] - (units - 1) * n_ge
    within = (n_c - 1) / 3 * (2 * units**3 - 3 * units**2 + units)
    numerator = float((within + units**2 * fits).sum())
    denominator = m * length * (m * length - 1) - float((units * (units - 1)).sum())
    d_e = 2 / length * numerator / denominator
    if d_e <= 0:
        return UnitizingAlpha(code, math.nan, d_o, d_e, n_c, length, m,
                              "no disagreement is possible by chance (the code covers the whole text)")
    return UnitizingAlpha(code, 1 - d_o / d_e, d_o, d_e, n_c, length, m)


def unitizing_alpha(
    spans: Sequence[Span], continua: Mapping[str, tuple[int, int]], *,
    coders: Sequence[str] | None = None, codes: Sequence[str] | None = None,
) -> UnitizingResult:
    """αu per code, over all codes, and the binary ``|uα`` (coded vs uncoded text).

    Parameters
    ----------
    spans : sequence of Span
        Everybody's coded spans.
    continua : mapping document -> (begin, end)
        The documents' continua (``(0, len(text))`` for a whole text).
    coders : sequence of str, optional
        The coders (default: those with spans). A coder enters only the documents in
        which they coded something; documents not coded by every coder are left out
        (:attr:`UnitizingResult.left_out`).
    codes : sequence of str, optional
        The code list (default: the codes found, sorted); codes nobody used get NaN.

    Returns
    -------
    UnitizingResult
    """
    coders = tuple(sorted({s.coder for s in spans})) if coders is None else tuple(coders)
    if len(coders) < 2:
        raise InputError(
            f"Unitizing agreement needs at least two coders; found {len(coders)} ({', '.join(coders) or 'none'})."
        )
    codes = tuple(sorted({s.code for s in spans})) if codes is None else tuple(codes)
    coded = defaultdict(set)
    for s in spans:
        if s.document not in continua:
            raise InputError(f"Coder {s.coder!r}: document {s.document!r} has no text to measure the continuum on.")
        coded[s.coder].add(s.document)
    docs = tuple(sorted(d for d in continua if all(d in coded[g] for g in coders)))
    left_out = tuple(sorted(set(continua) - set(docs)))
    if not docs:
        raise InputError(
            "Unitizing agreement: no document was coded by every coder "
            f"({', '.join(f'{g}: {len(coded[g])}' for g in coders)} documents). Give the codings of the same documents."
        )
    chosen = {d: continua[d] for d in docs}
    by_code: dict[str, dict[str, dict[str, list[tuple[int, int]]]]] = {
        c: {g: defaultdict(list) for g in coders} for c in codes}
    anything = {g: defaultdict(list) for g in coders}
    raw = 0
    for s in spans:
        if s.document in chosen and s.coder in coders and s.code in by_code:
            by_code[s.code][s.coder][s.document].append((s.start, s.end))
            anything[s.coder][s.document].append((s.start, s.end))
            raw += 1
    per_code = {c: category_unitizing_alpha(by_code[c], chosen, code=c) for c in codes}
    kept = sum(len(merge_spans(v)) for c in codes for g in coders for v in by_code[c][g].values())
    used = [a for a in per_code.values() if a.n_spans > 0]
    length = sum(e - b for b, e in chosen.values())
    if used:
        d_o = float(np.mean([a.observed for a in used]))
        d_e = float(np.mean([a.expected for a in used]))
        overall = UnitizingAlpha(ALL_CODES, 1 - d_o / d_e if d_e > 0 else math.nan, d_o, d_e,
                                 sum(a.n_spans for a in used), length, len(coders),
                                 "" if d_e > 0 else "no disagreement is possible by chance")
    else:
        overall = UnitizingAlpha(ALL_CODES, math.nan, 0.0, 0.0, 0, length, len(coders), "no coder used any code")
    binary = category_unitizing_alpha(anything, chosen, code="coded text (any code)")
    rule = (
        f"unitizing α over the character continuum of {len(docs)} document(s) ({length:,} characters), "
        "documents laid end to end with no section crossing a document boundary; a document enters when every "
        "coder coded something in it; overlapping spans of one coder with the same code are merged"
    )
    return UnitizingResult(overall, per_code, binary, docs, left_out, coders, raw - kept, rule)
