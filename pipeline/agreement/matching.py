"""Which units of different coders are the same unit, and whether coders share enough of them.

Coders' unit files and the model's classify output name the same passage differently: a
researcher numbers the rows of a spreadsheet 1, 2, 3 … per document, ``autocode classify``
writes ``<document>:0000``. Compared by id alone, the model's units and the coders' never
meet, and the model silently drops out of every figure while still being named as a coder.
So a model's segment is the coders' unit whose id it carries where the texts agree too,
else the unit of the same document with the same text (:func:`model_unit_keys`); and a coder
who shares too few units with those it is compared with stops the command
(:func:`check_shared_units`) instead of entering the report uncompared.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Sequence

from pipeline.core.errors import InputError
from pipeline.core.types import Segment

#: Share of the smaller side's units (within the documents two sides have in common) that
#: must be the same units; below it the two name different things, however they are
#: numbered.
MIN_SHARED = 0.5
MODEL_PREFIX = "model:"
_SHOWN = 3  # ids shown per coder in the message


def _normal(text: str) -> str:
    # Spreadsheets re-wrap and pad cells; the words are what identify a unit.
    return " ".join(text.split())


def model_unit_keys(units: Iterable[tuple[str, str, str]], segments: Sequence[Segment]) -> dict[str, str]:
    """The unit key each of a model's segments stands for.

    Args:
        units: ``(key, document, text)`` of the hand-coded units, in file order.
        segments: The model's (codable) segments, in document order.

    Returns:
        Segment id -> unit key: the segment's own id where a unit has that key and the
        same text; else the key of a unit of the same document with the same text (the
        k-th of equal texts is the k-th of them, as both follow the document); else the
        segment id, made distinct from the units' keys where it collides with one of
        another text, so that two different passages are never one unit.
    """
    by_key: dict[str, tuple[str, str]] = {}
    for key, document, text in units:
        by_key.setdefault(key, (document, _normal(text)))
    keys: dict[str, str] = {}
    for seg in segments:
        found = by_key.get(seg.id)
        if found is not None and found[1] == _normal(seg.text):
            keys[seg.id] = seg.id
    taken = set(keys.values())
    free: dict[tuple[str, str], deque[str]] = defaultdict(deque)
    for key, (document, text) in by_key.items():
        if key not in taken:
            free[(document, text)].append(key)
    for seg in segments:
        if seg.id in keys:
            continue
        queue = free.get((seg.transcript, _normal(seg.text)))
        if queue:
            keys[seg.id] = queue.popleft()
        else:
            keys[seg.id] = seg.id if seg.id not in by_key else f"{seg.id} (model segment)"
    return keys


def check_shared_units(rated: dict[str, list[str]], documents: dict[str, str]) -> None:
    """Stop when a coder shares too few units with those it is compared with.

    A model is compared with the human coders (with the other models where there is no
    human), a human with the other humans (with the models where they are the only
    human). Within the documents both sides coded, at least :data:`MIN_SHARED` of the
    smaller side's units must be units of both.

    Args:
        rated: Coder -> the keys of the units they coded, in order.
        documents: Unit key -> its document.

    Raises:
        InputError: naming the coder, how many units it shares, both sides' ids and
            what to do.
    """
    humans = [c for c in rated if not c.startswith(MODEL_PREFIX)]
    models = [c for c in rated if c.startswith(MODEL_PREFIX)]
    for coder, mine in rated.items():
        if coder in models:
            partners = humans or [m for m in models if m != coder]
        else:
            partners = [h for h in humans if h != coder] if len(humans) >= 2 else models
        if not partners:
            continue
        theirs = list(dict.fromkeys(k for p in partners for k in rated[p]))
        common = {documents[k] for k in mine} & {documents[k] for k in theirs}
        base = min(sum(documents[k] in common for k in mine), sum(documents[k] in common for k in theirs))
        shared = len(set(mine) & set(theirs))
        if shared and shared >= MIN_SHARED * base:
            continue
        raise InputError(_message(coder, partners, shared, mine, theirs, documents))


def _ids(keys: Sequence[str], documents: dict[str, str]) -> str:
    shown = ", ".join(keys[:_SHOWN]) + (" …" if len(keys) > _SHOWN else "")
    docs = list(dict.fromkeys(documents[k] for k in keys))
    return f"{shown} (document{'s' if len(docs) > 1 else ''} {', '.join(docs[:_SHOWN])}{' …' if len(docs) > _SHOWN else ''})"


def _message(coder: str, partners: list[str], shared: int, mine: list[str], theirs: list[str],
             documents: dict[str, str]) -> str:
    who = ", ".join(partners)
    head = (f"coder {coder!r} shares {shared} of its {len(mine)} units with {who}: too few to compare them. "
            "A unit is the same unit for two coders when its id (and document) agree and its text too, "
            "else when document and text agree. "
            f"{coder}'s units: {_ids(mine, documents)}; {who}: {_ids(theirs, documents)}. ")
    if coder.startswith(MODEL_PREFIX) or all(p.startswith(MODEL_PREFIX) for p in partners):
        return head + (
            "Let the model code the coders' own units: 'autocode classify' on the coders' unit file (with a "
            "'document' column naming the transcript) keeps their ids, so run 'autocode classify A.csv --out OUT' "
            "and compare with OUT; or give the unit files the model's segments, with the transcript's name in "
            "'document' and the segment's text in 'text'.")
    return head + ("Give every coder's file the same units: the same 'document' and 'id' for the same text, "
                   "or the same 'document' and 'text'.")
