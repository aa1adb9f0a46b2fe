"""Text positions as QDA programs count them, and conversion to autocode's offsets.

autocode's offsets are Python string indices: Unicode code points of the exact decoded
text (a CR LF line break is two code points), end exclusive. REFI-QDA 1.5 (section 10.2)
defines ``startPosition``/``endPosition`` the same way — code points, the first one
numbered 0 — and in the exports we have seen ``endPosition`` is exclusive. Programs
deviate in two known ways:

* **unit** — programs built on UTF-16 strings (NVivo, .NET) count UTF-16 code units, so
  every character outside the Basic Multilingual Plane (emoji such as 😀, some CJK)
  counts twice. Umlauts and ß are in the BMP and count once either way.
* **crlf** — for text files with Windows line breaks, some programs count CR LF as one
  position (ATLAS.ti and MAXQDA, as the importer and exporter of QualCoder treat them),
  others as the two characters in the file (the standard, NVivo).

For a text without astral characters and without CR LF all four conventions agree, and
nothing needs to be known. Otherwise :func:`detect_convention` weighs the evidence of
a project's own selections (do they fit the text, does the selection's ``name`` —
which several programs fill with the start of the selected text — match the text at
that position) and falls back on the exporting program named in ``origin``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

UNITS = ("codepoint", "utf16")
CRLF = ("two", "one")


@dataclass(frozen=True)
class OffsetConvention:
    """How a program counts text positions.

    Attributes:
        unit: ``"codepoint"`` (REFI-QDA standard) or ``"utf16"`` (UTF-16 code units).
        crlf: ``"two"`` (CR LF counts as two positions, as the characters in the file)
            or ``"one"``.
    """

    unit: str = "codepoint"
    crlf: str = "two"

    def __post_init__(self) -> None:
        if self.unit not in UNITS:
            raise ValueError(f"unit must be one of {UNITS}, found {self.unit!r}")
        if self.crlf not in CRLF:
            raise ValueError(f"crlf must be one of {CRLF}, found {self.crlf!r}")

    def __str__(self) -> str:
        return f"{self.unit} positions, CR LF counted as {self.crlf}"


STANDARD = OffsetConvention()


def position_table(text: str, convention: OffsetConvention) -> list[int]:
    """Map each program position to a code-point index of ``text``.

    Returns:
        A list ``table`` of length ``n_positions + 1``: ``table[p]`` is the code-point
        index of position ``p``, or ``-1`` where ``p`` falls inside one character (between
        the two UTF-16 units of an astral character, or between CR and LF when CR LF
        counts as one).

    >>> position_table("a😀b", OffsetConvention("utf16"))
    [0, 1, -1, 2, 3]
    >>> position_table("a\\r\\nb", OffsetConvention(crlf="one"))
    [0, 1, 3, 4]
    """
    utf16 = convention.unit == "utf16"
    one = convention.crlf == "one"
    table: list[int] = []
    for i, ch in enumerate(text):
        if one and ch == "\n" and i > 0 and text[i - 1] == "\r":
            continue
        table.append(i)
        if utf16 and ord(ch) > 0xFFFF:
            table.append(-1)
    table.append(len(text))
    return table


def index_table(text: str, convention: OffsetConvention) -> list[int]:
    """The inverse of :func:`position_table`: program position of each code-point index.

    An index inside a unit (LF of a CR LF counted as one) maps to the unit's start.
    """
    out = [0] * (len(text) + 1)
    for pos, idx in enumerate(position_table(text, convention)):
        if idx >= 0:
            out[idx] = pos
    one = convention.crlf == "one"
    if one:
        for i in range(1, len(text)):
            if text[i] == "\n" and text[i - 1] == "\r":
                out[i] = out[i - 1]
    return out


def needs_convention(text: str) -> bool:
    """Whether conventions can disagree on this text (astral characters or CR LF)."""
    return "\r\n" in text or any(ord(ch) > 0xFFFF for ch in text)


def relevant_conventions(texts: Iterable[str]) -> list[OffsetConvention]:
    """The conventions that give different results on at least one of ``texts``."""
    astral = crlf = False
    for text in texts:
        astral = astral or any(ord(ch) > 0xFFFF for ch in text)
        crlf = crlf or "\r\n" in text
    units = UNITS if astral else ("codepoint",)
    crlfs = CRLF if crlf else ("two",)
    return [OffsetConvention(u, c) for u in units for c in crlfs]


# What the exporting program is known (or reported by QualCoder's importer) to write;
# used only to break ties when a project's selections give no evidence either way.
ORIGIN_HINTS: tuple[tuple[str, OffsetConvention], ...] = (
    ("nvivo", OffsetConvention("utf16", "two")),
    ("atlas", OffsetConvention("codepoint", "one")),
    ("maxqda", OffsetConvention("codepoint", "one")),
)


def origin_hint(origin: str) -> OffsetConvention | None:
    low = (origin or "").lower()
    for key, convention in ORIGIN_HINTS:
        if key in low:
            return convention
    return None


_ELLIPSIS = re.compile(r"(\.\.\.|…)\s*$")
_WS = re.compile(r"\s+")


def _norm(s: str) -> str:
    return _WS.sub(" ", s).strip()


def name_matches(name: str, selected: str) -> bool:
    """Whether a selection's ``name`` is (the start of) its selected text.

    Several programs (ATLAS.ti, MAXQDA, QualCoder, autocode) name a selection after the
    text it covers, truncated with an ellipsis. Whitespace is compared loosely.
    """
    stem = _norm(_ELLIPSIS.sub("", name or ""))
    if len(stem) < 4:
        return False
    return _norm(selected).startswith(stem) or stem.startswith(_norm(selected)) and len(_norm(selected)) >= 4


@dataclass(frozen=True)
class Evidence:
    convention: OffsetConvention
    invalid: int  # selections outside the text or inside a character
    named: int  # selections whose name matches the text at the position


def score_convention(
    convention: OffsetConvention,
    items: Sequence[tuple[str, Sequence[tuple[int, int, str]]]],
) -> Evidence:
    """Check ``(text, [(start, end, name), ...])`` pairs under one convention."""
    invalid = named = 0
    for text, selections in items:
        table = position_table(text, convention)
        for start, end, name in selections:
            if not (0 <= start < end < len(table)) or table[start] < 0 or table[end] < 0:
                invalid += 1
                continue
            if name and name_matches(name, text[table[start]:table[end]]):
                named += 1
    return Evidence(convention, invalid, named)


@dataclass(frozen=True)
class Detection:
    convention: OffsetConvention
    reason: str
    ambiguous: bool = False


def detect_convention(
    items: Sequence[tuple[str, Sequence[tuple[int, int, str]]]],
    *,
    origin: str = "",
    unit: str | None = None,
    crlf: str | None = None,
) -> Detection:
    """Choose the convention that fits a project's selections best.

    Args:
        items: For each text source, its text and its selections as
            ``(startPosition, endPosition, name)``.
        origin: The project's ``origin`` attribute (the exporting program).
        unit, crlf: Fix one aspect (the user knows it); the other is detected.

    The convention with the fewest selections that do not fit the text wins; then the
    one under which most selection names match the selected text; then the one the
    exporting program is known for; then the standard.
    """
    candidates = relevant_conventions(text for text, _ in items)
    if unit is not None or crlf is not None:
        fixed = [OffsetConvention(unit or c.unit, crlf or c.crlf) for c in candidates]
        candidates = list(dict.fromkeys(fixed))
        if len(candidates) == 1:
            return Detection(candidates[0], "chosen by the user")
    if len(candidates) == 1:
        return Detection(STANDARD, "no source has characters outside the BMP or CR LF line breaks: all conventions agree")
    scores = [score_convention(c, items) for c in candidates]
    best_invalid = min(s.invalid for s in scores)
    scores = [s for s in scores if s.invalid == best_invalid]
    best_named = max(s.named for s in scores)
    if best_named > 0:
        top = [s for s in scores if s.named == best_named]
        if len(top) == 1:
            s = top[0]
            return Detection(s.convention, f"{s.named} selection names match the text under this convention")
        scores = top
    hint = origin_hint(origin)
    if hint is not None and any(s.convention == hint for s in scores):
        reason = f"the selections fit several conventions; {origin!r} is known to write this one"
        return Detection(hint, reason, ambiguous=len(scores) > 1)
    if any(s.convention == STANDARD for s in scores):
        chosen = STANDARD
    else:
        chosen = scores[0].convention
    if len(scores) == 1:
        return Detection(chosen, "it is the only convention under which every selection fits its text")
    return Detection(
        chosen,
        "the selections fit several conventions and give no other evidence; the REFI-QDA standard is assumed",
        ambiguous=True,
    )
