"""The one check of the codes that commands read: every code in a known code system.

A typo in a code ("MOT-MARKTT") silently becomes a code of its own and changes every
figure that counts codes. :func:`check_codes` is called wherever codes are read (hand
codes by :func:`pipeline.text.codings.read_hand_codes`; classify outputs by ``agreement`` and
``export``) and judges them against the best code system there is:

1. the code system given with ``--codebook`` (or the model's, where a command codes
   with a model);
2. else the code system of a model among the inputs (a classify output's
   ``.meta.json`` names its model folder, whose ``codebook.yaml`` is the code system
   the model codes with, see :func:`code_system_of_outputs`);
3. else the coders against each other: a code that one coder alone uses, within
   :data:`TYPO_DISTANCE` edits of another coder's code, is a likely typo. A typo of two
   coders gives a figure as wrong as an unknown code does (α over a code system with
   one code split in two), so it stops the command just the same.

Every unknown code (or likely typo) is reported in one error, each with its file and
line and the code it resembles, so that one pass fixes them all; ``--allow-new-codes``
turns the error into a warning and the command goes on.
"""

from __future__ import annotations

import difflib
import json
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.codebook import Codebook, load_codebook
from pipeline.core.errors import AutocodeError, CodebookError

#: Edits (insert, delete, substitute a character) within which a code that only one
#: coder uses is taken for a typo of another coder's code.
TYPO_DISTANCE = 2
#: What a command does with codes let through by ``--allow-new-codes`` (for the warning).
LEFT_OUT = "Their codings are left out: the code system decides which codes there are"
OWN_CODES = "They count as codes of their own"
_SHOWN = 5  # places listed per unknown code before "and N more"


class UnknownCodeError(CodebookError):
    """Codes that are not in the code system (all of them, in one message)."""


class CodeCheckWarning(UserWarning):
    """A likely typo among the coders' codes, or unknown codes let through."""


@dataclass(frozen=True)
class CodeUse:
    """One place where a code is read: ``where`` is ``file:line`` (or file and segment)."""

    code: str
    coder: str
    where: str


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest single-character inserts, deletes and
    substitutions that turn ``a`` into ``b``.

    >>> edit_distance("MOT-MARKTT", "MOT-MARKT"), edit_distance("HEM-KAPAZITÄT", "HEM-KAPAZITAET")
    (1, 2)
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def closest_code(code: str, known: Iterable[str]) -> str | None:
    """The known code nearest to ``code`` by edit distance (ties: the more similar by
    :class:`difflib.SequenceMatcher`), or None when none is near enough to be meant:
    more than half of the code's characters would change."""
    known = list(known)
    if not known:
        return None
    best = min(known, key=lambda k: (edit_distance(code, k), -difflib.SequenceMatcher(None, code, k).ratio(), k))
    if edit_distance(code, best) <= max(TYPO_DISTANCE, len(code) // 2):
        return best
    close = difflib.get_close_matches(code, known, n=1)
    return close[0] if close else None


def _places(wheres: Sequence[str]) -> str:
    """``a.jsonl:3`` or ``a.jsonl:3, 7, 12 and 4 more; b.csv:2``: lines of one file together."""
    by_file: dict[str, list[str]] = defaultdict(list)
    for where in dict.fromkeys(wheres):
        file, _, line = where.rpartition(":")
        if file and line.isdigit():
            by_file[file].append(line)
        else:
            by_file[where].append("")
    parts = []
    for file, lines in by_file.items():
        lines = [x for x in lines if x]
        if not lines:
            parts.append(file)
            continue
        more = f" and {len(lines) - _SHOWN} more" if len(lines) > _SHOWN else ""
        parts.append(f"{file}:{', '.join(lines[:_SHOWN])}{more}")
    return "; ".join(parts)


def _what_to_do(codebook: Codebook, origin: str) -> str:
    if origin:
        return "Fix the codes in your files, or give the code system that holds them with --codebook FILE."
    return codebook._where_to_add()


def check_codes(
    uses: Iterable[CodeUse],
    *,
    codebook: Codebook | None = None,
    origin: str = "",
    allow_new: bool = False,
    consequence: str = "",
) -> tuple[str, ...]:
    """Check every code read against ``codebook``, or, without one, the coders against
    each other.

    Args:
        uses: Every place a code was read (a code used 40 times comes 40 times).
        codebook: The code system the codes must belong to (any code of it, parents
            included), or None.
        origin: Where ``codebook`` came from when the user did not name it, e.g. "the
            code system of model 'default' (its classify output out/)"; it appears in the
            message. Empty: the codebook's own file is named.
        allow_new: Let unknown codes through with a warning instead of an error.
        consequence: What the command does with codes let through (for the warning),
            e.g. "their codings are left out". Without a code system, codes let
            through always count as codes of their own.

    Returns:
        The unknown codes (or likely typos) let through (``allow_new``), sorted; else empty.

    Raises:
        UnknownCodeError: codes outside ``codebook``, or without one likely typos across
            coders (``allow_new`` false): one message naming each code, every place it
            occurs and the code it resembles.
    """
    uses = list(uses)
    if codebook is None:
        return _check_typos(uses, allow_new)
    known = set(codebook.ids)
    unknown: dict[str, list[str]] = defaultdict(list)
    for use in uses:
        if use.code not in known:
            unknown[use.code].append(use.where)
    if not unknown:
        return ()
    parts = []
    for code, wheres in unknown.items():  # in the order first met: file order
        close = closest_code(code, codebook.ids)
        parts.append(f"{_places(wheres)}: unknown code {code!r}" + (f" (closest: {close!r})" if close else ""))
    parts = [p + "." if len(parts) > 1 else p for p in parts]
    system = origin or (f"the code system {codebook.source}" if codebook.source else "the code system")
    if allow_new:
        warnings.warn(
            f"--allow-new-codes: going on with {len(unknown)} code(s) that are not in {system}: {' '.join(parts)}"
            + (f". {consequence}" if consequence else "") + ".",
            CodeCheckWarning, stacklevel=2)
        return tuple(sorted(unknown))
    head = f"{len(unknown)} codes are not in {system}: " if len(unknown) > 1 else ""
    raise UnknownCodeError(
        f"{head}{' '.join(parts).rstrip('.')}. Known codes: {', '.join(codebook.leaf_ids)}. {_what_to_do(codebook, origin)} "
        "To go on with codes of your own, pass --allow-new-codes."
    )


def _check_typos(uses: list[CodeUse], allow_new: bool) -> tuple[str, ...]:
    """Without a code system: a code that one coder alone uses, within TYPO_DISTANCE edits
    of a code another coder uses, is most likely a typo of it."""
    coders: dict[str, set[str]] = defaultdict(set)
    wheres: dict[str, list[str]] = defaultdict(list)
    for use in uses:
        coders[use.code].add(use.coder)
        wheres[use.code].append(use.where)
    reported: set[frozenset[str]] = set()
    parts: list[str] = []
    found: list[str] = []
    for code in list(coders):  # file order, as unknown codes are listed
        if len(coders[code]) != 1:
            continue
        (who,) = coders[code]
        near = sorted(
            (edit_distance(code, other), other) for other in coders
            if other != code and coders[other] - {who} and edit_distance(code, other) <= TYPO_DISTANCE
        )
        if not near or frozenset((code, near[0][1])) in reported:
            continue
        other = near[0][1]
        reported.add(frozenset((code, other)))
        others = ", ".join(sorted(coders[other] - {who}))
        found.append(code)
        parts.append(f"{_places(wheres[code])}: code {code!r} is used by coder {who!r} only and is {near[0][0]} "
                     f"edit(s) from {other!r}, which coder(s) {others} use")
    if not parts:
        return ()
    listed = ". ".join(parts)
    if allow_new:
        warnings.warn(
            f"--allow-new-codes: going on with {len(parts)} likely typo(s) across coders: {listed}. {OWN_CODES}.",
            CodeCheckWarning, stacklevel=3)
        return tuple(sorted(found))
    head = f"{len(parts)} likely typos across coders: " if len(parts) > 1 else "a likely typo across coders: "
    raise UnknownCodeError(
        f"{head}{listed}. Fix the codes in your files, or give the code system with --codebook FILE to check "
        "every code against it. To go on with them as codes of their own, pass --allow-new-codes.")


def code_system_of_outputs(metas: Sequence[tuple[Path, dict]]) -> tuple[Codebook, str] | None:
    """The code system of the model that wrote classify outputs, from their ``.meta.json``.

    Args:
        metas: ``(output file, its .meta.json as a dict)`` per classify output.

    Returns:
        ``(code system, how to name it in messages)``, or None where the outputs name no
        model folder, several, or one whose ``codebook.yaml`` is gone or no longer the one
        the outputs were coded with (its hash differs from the ``codebook_hash`` recorded).
    """
    folders = {str(meta.get("model_dir") or "") for _, meta in metas}
    if len(folders) != 1 or "" in folders:
        return None
    folder = Path(folders.pop())
    try:
        book = load_codebook(folder / "codebook.yaml")
    except AutocodeError:
        return None
    recorded = {meta.get("codebook_hash") for _, meta in metas} - {None, ""}
    if recorded and recorded != {book.hash}:
        return None
    try:
        name = json.loads((folder / "model.json").read_text(encoding="utf-8")).get("name") or folder.name
    except (OSError, ValueError, AttributeError):
        name = folder.name
    outputs = sorted({str(p.parent) for p, _ in metas})
    return book, f"the code system of model {name!r} ({folder / 'codebook.yaml'}), which coded {', '.join(outputs)}"
