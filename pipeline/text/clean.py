"""Cleaning text for embedding while keeping every character's place in the original.

Each rule is a small pure function ``text -> list[Edit]`` (what to delete or replace);
:func:`apply_rules` applies them one after another and carries along, for every
character of the cleaned text, its index in the raw text. Segment offsets are thus
always offsets into the original, however much the embedded text was cleaned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import NamedTuple


class Edit(NamedTuple):
    """Replace ``text[start:end]`` by ``replacement`` (``""`` deletes)."""

    start: int
    end: int
    replacement: str = ""


Rule = Callable[[str], list[Edit]]


def _apply(text: str, index: list[int], edits: list[Edit]) -> tuple[str, list[int]]:
    out: list[str] = []
    out_index: list[int] = []
    pos = 0
    for start, end, repl in sorted(edits):
        if start < pos:  # overlapping edit: the earlier one wins
            continue
        out.append(text[pos:start])
        out_index.extend(index[pos:start])
        if repl:
            # A replacement maps onto the characters it replaces, position by position
            # (rules only replace with text no longer than what they replace).
            out.append(repl)
            out_index.extend(index[min(start + k, end - 1)] for k in range(len(repl)))
        pos = end
    out.append(text[pos:])
    out_index.extend(index[pos:])
    return "".join(out), out_index


def apply_rules(text: str, rules: Sequence[Rule], index: list[int] | None = None) -> tuple[str, list[int]]:
    """Apply ``rules`` in order.

    Returns:
        cleaned: the cleaned text.
        index: list of length ``len(cleaned)``; ``index[i]`` is the position in the raw
            text (or in the positions given as ``index``) of cleaned character ``i``.
    """
    if index is None:
        index = list(range(len(text)))
    for rule in rules:
        edits = rule(text)
        if edits:
            text, index = _apply(text, index, edits)
    return text, index


def clean(text: str, rules: Sequence[Rule]) -> str:
    """The cleaned text alone (for tests and previews)."""
    return apply_rules(text, rules)[0]


def _deleting(pattern: re.Pattern) -> Rule:
    def rule(text: str) -> list[Edit]:
        return [Edit(m.start(), m.end()) for m in pattern.finditer(text)]

    return rule


# --- interview transcripts -------------------------------------------------------------

TIMESTAMP = (
    r"(?:#\d{1,2}:\d{2}(?::\d{2})?(?:[-.,]\d+)?#"
    r"|\[\d{1,2}:\d{2}(?::\d{2})?(?:[-.,]\d+)?\]"
    r"|\(\d{1,2}:\d{2}(?::\d{2})?(?:[-.,]\d+)?\))"
)
remove_timestamps = _deleting(re.compile(TIMESTAMP))
remove_timestamps.__doc__ = "f4 ``#00:01:23-4#``, ``[00:01:23]`` and ``(01:23)`` time marks."

# Transcription markers: pauses, unintelligible passages, non-verbal events, overlaps,
# anonymised names. A parenthesis is a marker only when all of it is marker vocabulary:
# a head ("lacht", "Pause", "unv.", "Telefon klingelt", "Name") with at most a few
# modifiers ("kurz", "lange", "3 Sek.", "anonymisiert"). Parentheses that are text stay
# text, also where they begin with a word that can be a marker: "(laut Vertrag)" is
# "according to the contract", "(Pause machen wir nie)" a remark, "(siehe oben)" a
# reference.
_MARKER_HEADS = (
    r"lacht|lachen|lachend|beide lachen|Lachen|Gelächter|lächelt|schmunzelt|grinst|seufzt|Seufzen|"
    r"räuspert sich|Räuspern|hustet|Husten|atmet|atmet ein|atmet aus|zögert|überlegt|flüstert|"
    r"betont|ironisch|leise|laut|lauter|Pause|Stille|Schweigen|schweigt|Unterbrechung|unterbrochen|"
    r"Störung|Telefon klingelt|Handy klingelt|Telefon|klopft|Klopfen|gleichzeitig|überlappend|"
    r"unv\.?|unverständlich|unverst\.?|unklar|Name|Ort|Firma|Stadt|Unternehmen|anonymisiert|\?+"
)
_MARKER_MODIFIERS = (
    r"kurz|kurze|kurzer|lang|lange|langer|längere|sehr|laut|leise|tief|hörbar|gemeinsam|beide|"
    r"ein|aus|sich|gesprochen|anonymisiert|entfernt|geändert|Wort|Wörter|\d+(?:[.,]\d+)?|"
    r"s|Sek\.?|sek\.?|Sekunden|Min\.?|Minuten|\?+|\.{1,3}|…"
)
_DURATION = r"\d+(?:[.,]\d+)?\s*(?:s|Sek\.?|sek\.?|Sekunden)?"
# "(Name der Firma)", "(Ort des Unternehmens)": what an anonymised passage stood for.
_ANONYMISED = (
    r"(?:Name|Ort|Firma|Stadt)[ ]+(?:des|der|von)[ ]+(?:Firma|Unternehmens|Ortes|Stadt|Person|Partners|Partnerin|"
    r"Interviewpartners|Interviewpartnerin|Befragten|Kollegen|Kollegin|Clusters|Partnerclusters)"
    r"(?:[ ,]+(?:anonymisiert|entfernt|geändert))?"
)
_MARKER = re.compile(
    rf"\((?:\.{{1,3}}|…|{_DURATION}|{_ANONYMISED}|"
    rf"(?:(?:{_MARKER_MODIFIERS})[ ,]+){{0,2}}(?:{_MARKER_HEADS})(?:[ ,;]+(?:{_MARKER_MODIFIERS}))*)\)"
)
remove_markers = _deleting(_MARKER)
remove_markers.__doc__ = (
    "``(lacht)``, ``(...)``, ``(unv.)``, ``(4 Sek.)``, ``(lange Pause)``, ``(Telefon klingelt)`` and the like; "
    "``(laut Vertrag)``, ``(siehe oben)`` stay."
)

# A back-channel of the other speaker inside a turn: ``(I: Mhm.)``.
remove_backchannels = _deleting(re.compile(r"\((?:I|B\d*|IP\d*|Interviewer(?:in)?)\s*:[^()\n]{0,60}\)"))
remove_backchannels.__doc__ = "Back-channel turns in parentheses, e.g. ``(I: Mhm.)``."

remove_tags = _deleting(re.compile(r"</?(?:v|c|i|b|u|lang|ruby|rt)(?:[.\s][^>]*)?>|<\d{1,2}:\d{2}[:.\d]*>"))
remove_tags.__doc__ = "WebVTT voice, class and timestamp tags."

# A whole run of slashes goes: taking "//" pairs would leave "Warum//" of "Warum////",
# which a second cleaning would change again.
remove_overlap_marks = _deleting(re.compile(r"(?<!\S)/{2,}|/{2,}(?!\S)"))
remove_overlap_marks.__doc__ = "Overlap marks ``//`` at the start or end of a word (two adjacent ones included)."


def normalize_whitespace(text: str) -> list[Edit]:
    """Each run of whitespace (line breaks included) becomes one space; none at the ends."""
    edits = []
    for m in re.finditer(r"\s+", text):
        if m.start() == 0 or m.end() == len(text):
            edits.append(Edit(m.start(), m.end()))
        elif m.group() != " ":
            edits.append(Edit(m.start(), m.start() + 1, " "))
            if m.end() > m.start() + 1:
                edits.append(Edit(m.start() + 1, m.end()))
    return edits


remove_space_before_punctuation = _deleting(re.compile(r"\s+(?=[.,;:!?](?:\s|$))"))
remove_space_before_punctuation.__doc__ = "``Haustür (lacht).`` leaves ``Haustür .``: the space goes."

INTERVIEW_RULES: tuple[Rule, ...] = (
    remove_timestamps,
    remove_backchannels,
    remove_markers,
    remove_overlap_marks,
    remove_space_before_punctuation,
    normalize_whitespace,
)
SUBTITLE_RULES: tuple[Rule, ...] = (remove_tags,) + INTERVIEW_RULES


# --- PDF-extracted literature ----------------------------------------------------------

_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
_LINE_HYPHEN = re.compile(r"(?P<left>[^\W\d_]+)-[ \t]*\r?\n[ \t]*(?P<right>[^\W\d_]+)")
# After these a trailing hyphen is an elided compound part ("Informations- und ..."),
# not a hyphenation.
_CONJUNCTIONS = {"und", "oder", "bzw", "sowie", "als", "wie", "noch", "bis", "statt"}


def make_dehyphenate(document: str) -> Rule:
    """A rule joining words hyphenated across line breaks, judged by the document itself.

    ``Interna-⏎tionalisierung`` becomes ``Internationalisierung``; ``Baden-⏎Württemberg``
    keeps its hyphen (capital continuation); ``deutsch-⏎französisch`` keeps it when the
    document writes ``deutsch-französisch`` on one line elsewhere (and never
    ``deutschfranzösisch``); ``Informations-⏎und`` keeps hyphen and space.
    """
    # Words written on one line only: fragments around a line-end hyphen are no evidence.
    # (Collected between the hyphenations rather than from a copy of the document
    # without them: a large document is not copied, nor its words listed.)
    vocabulary: set[str] = set()
    pos = 0
    for m in _LINE_HYPHEN.finditer(document):
        vocabulary.update(w.group().lower() for w in _WORD.finditer(document, pos, m.start()))
        pos = m.end()
    vocabulary.update(w.group().lower() for w in _WORD.finditer(document, pos))
    compounds = [w for w in vocabulary if "-" in w]

    def rule(text: str) -> list[Edit]:
        edits = []
        for m in _LINE_HYPHEN.finditer(text):
            left, right = m.group("left"), m.group("right")
            hyphen = m.start("left") + len(left)
            gap = (hyphen + 1, m.start("right"))
            if right.lower() in _CONJUNCTIONS:
                edits.append(Edit(gap[0], gap[1], " "))
            elif right[0].isupper():
                edits.append(Edit(gap[0], gap[1]))
            else:
                joined = (left + right).lower()
                hyphenated = f"{left}-{right}".lower()
                keep = joined not in vocabulary and any(
                    w.endswith(hyphenated) or w.startswith(hyphenated) for w in compounds
                )
                edits.append(Edit(gap[0], gap[1]) if keep else Edit(hyphen, gap[1]))
        return edits

    return rule


# Footnote reference numbers glued to a word or after punctuation: "Forschungslandschaft7",
# "gegründet wurde.8", "„Vier Motoren für Europa“5,". A number after a digit and a dot
# ("2.1"), after a capital and a dot ("S.4") or after a space is left alone.
remove_footnote_refs = _deleting(
    re.compile(
        r"(?:(?<=[a-zäöüß]{2})|(?<=[a-zäöüß][.,;:!?])|(?<=[^\d\s][“”\"'’)\]]))\d{1,3}(?=[\s,;:.)]|$)"
    )
)
remove_footnote_refs.__doc__ = "Footnote reference numbers glued to words or punctuation."


def literature_rules(document: str) -> tuple[Rule, ...]:
    return (make_dehyphenate(document), remove_footnote_refs, normalize_whitespace)
