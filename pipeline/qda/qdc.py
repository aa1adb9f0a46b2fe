"""REFI-QDA codebooks (``.qdc``) and the ``<CodeBook>`` of projects.

A ``.qdc`` is ``<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code .../></Codes></CodeBook>``;
codes nest. autocode's definition, anchors and rules go into the code's
``<Description>`` as plain text with ``Anchors:``/``Rules:`` sections, which
:func:`read_qdc` turns back into anchors and rules, so YAML → qdc → YAML keeps them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.codebook import Code, Codebook
from pipeline.core.errors import CodebookError, InputError
from pipeline.qda.xmlsafe import (
    CODEBOOK_NS,
    child,
    child_text,
    children,
    local,
    new_guid,
    norm_guid,
    parse_xml,
    serialise,
)

MAX_QDC_BYTES = 64 * 1024**2
RGB_COLOR = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
_SECTION = re.compile(r"\n\n(Anchors|Rules):\n")


def describe(code: Code) -> str:
    """The ``<Description>`` text for a code: definition, then anchors and rules."""
    parts = [code.definition] if code.definition else []
    if code.anchors:
        parts.append("Anchors:\n" + "\n".join(f"- {a}" for a in code.anchors))
    if code.rules:
        parts.append("Rules:\n" + "\n".join(f"- {r}" for r in code.rules))
    return "\n\n".join(parts)


def parse_description(text: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Split a description written by :func:`describe` into definition, anchors, rules.

    >>> parse_description("Motiv.\\n\\nAnchors:\\n- Wir wollten wachsen.")
    ('Motiv.', ('Wir wollten wachsen.',), ())
    """
    text = (text or "").strip()
    pieces = _SECTION.split("\n\n" + text)
    definition = pieces[0].strip()
    found: dict[str, tuple[str, ...]] = {"Anchors": (), "Rules": ()}
    for name, body in zip(pieces[1::2], pieces[2::2]):
        lines = [ln[2:].strip() for ln in body.strip().splitlines() if ln.startswith("- ")]
        if len(lines) != len([ln for ln in body.strip().splitlines() if ln.strip()]):
            return text, (), ()  # not our layout: keep the description whole
        found[name] = tuple(lines)
    return definition, found["Anchors"], found["Rules"]


@dataclass(frozen=True)
class QdaCode:
    """A REFI code and the autocode ID it was given (``parent`` is an autocode ID)."""

    guid: str
    name: str
    id: str
    parent: str = ""
    codable: bool = True
    color: str = ""
    description: str = ""


def assign_code_ids(nodes: list[tuple[str, str, str, int]]) -> dict[str, str]:
    """Autocode IDs for codes given as ``(guid, name, parent_guid, depth)``, parents first.

    The name when it is unique, else the ``/``-joined path of names, else path and GUID.
    """
    by_guid = {g: (name, parent) for g, name, parent, _ in nodes}

    def path(g: str) -> str:
        parts = []
        while g:
            name, g = by_guid[g]
            parts.append(name)
        return "/".join(reversed(parts))

    names = Counter(name for _, name, _, _ in nodes)
    first = {g: (name if names[name] == 1 else path(g)) for g, name, _, _ in nodes}
    counts = Counter(first.values())
    return {g: (i if counts[i] == 1 else f"{i} [{g[:8]}]") for g, i in first.items()}


def read_codes(codebook_el: ET.Element | None, warnings: list[str]) -> list[tuple[str, str, str, int, ET.Element]]:
    out: list[tuple[str, str, str, int, ET.Element]] = []
    if codebook_el is None:
        return out
    codes_el = child(codebook_el, "Codes") if local(codebook_el.tag) != "Codes" else codebook_el
    if codes_el is None:
        return out
    seen: set[str] = set()

    def walk(el: ET.Element, parent: str, depth: int) -> None:
        for code in children(el, "Code"):
            guid = norm_guid(code.get("guid"))
            name = (code.get("name") or "").strip()
            if not guid or guid in seen:
                warnings.append(
                    f"code {name!r}: {'no guid' if not guid else 'guid ' + guid + ' occurs twice'}; "
                    "skipped with its subcodes and codings"
                )
                continue
            seen.add(guid)
            out.append((guid, name or f"code {guid[:8]}", parent, depth, code))
            walk(code, guid, depth + 1)

    walk(codes_el, "", 0)
    return out


def build_codebook(name: str, code_rows: list[tuple[str, str, str, int, ET.Element]], *, source: str = "") -> tuple[Codebook, tuple[QdaCode, ...]]:
    """The autocode :class:`Codebook` and the GUID mapping for REFI ``Code`` elements."""
    ids = assign_code_ids([(g, n, p, d) for g, n, p, d, _ in code_rows])
    qcodes = []
    for guid, cname, parent, _, el in code_rows:
        codable = (el.get("isCodable") or "true").strip().lower() not in ("false", "0")
        qcodes.append(
            QdaCode(
                guid=guid,
                name=cname,
                id=ids[guid],
                parent=ids[parent] if parent else "",
                codable=codable,
                color=(el.get("color") or "").strip(),
                description=child_text(el, "Description").strip(),
            )
        )
    codes = []
    for c in qcodes:
        definition, anchors, rules = parse_description(c.description)
        codes.append(Code(id=c.id, name=c.name, parent=c.parent, definition=definition, anchors=anchors, rules=rules, color=c.color))
    return Codebook(name=name, codes=tuple(codes), source=source), tuple(qcodes)


def code_guids(codebook: Codebook, known: dict[str, str] | None = None) -> dict[str, str]:
    """A GUID per code ID: the known one (from an import) or a deterministic new one."""
    known = known or {}
    return {c.id: known.get(c.id) or new_guid("code", codebook.name, c.id) for c in codebook.codes}


def add_codes(parent: ET.Element, codebook: Codebook, ns: str, *, guids: dict[str, str], codable: dict[str, bool] | None = None) -> None:
    """Append nested ``<Code>`` elements for ``codebook`` under ``parent`` (a ``<Codes>``).

    ``isCodable`` is taken from ``codable`` where known, else true for leaf codes and
    false for codes with children (autocode assigns leaves only).
    """
    parents = set(codebook.parent_ids)
    codable = codable or {}
    elements: dict[str, ET.Element] = {}
    for code in codebook.codes:
        holder = elements[code.parent] if code.parent else parent
        attrs = {
            "guid": guids[code.id],
            "name": code.name or code.id,
            "isCodable": "true" if codable.get(code.id, code.id not in parents) else "false",
        }
        if code.color and RGB_COLOR.match(code.color):
            attrs["color"] = code.color
        el = ET.SubElement(holder, f"{{{ns}}}Code", attrs)
        desc = describe(code)
        if desc:
            # Description precedes nested codes in the schema's sequence.
            ET.SubElement(el, f"{{{ns}}}Description").text = desc
        elements[code.id] = el


def codebook_to_qdc(codebook: Codebook, *, guids: dict[str, str] | None = None, codable: dict[str, bool] | None = None) -> bytes:
    """Serialise a code system as a REFI-QDA codebook (``.qdc``), UTF-8."""
    root = ET.Element(f"{{{CODEBOOK_NS}}}CodeBook")
    codes = ET.SubElement(root, f"{{{CODEBOOK_NS}}}Codes")
    add_codes(codes, codebook, CODEBOOK_NS, guids=guids or code_guids(codebook), codable=codable)
    ET.indent(root)
    return serialise(root)


def read_qdc(path: str | Path) -> tuple[Codebook, tuple[QdaCode, ...]]:
    """Read a ``.qdc`` codebook (or the code system of a ``.qde`` file).

    Returns:
        The code system (IDs as in :mod:`pipeline.qda.refi`) and the REFI codes with GUIDs.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InputError(f"{path}: no such file. Check the path.") from None
    if size > MAX_QDC_BYTES:
        raise InputError(f"{path}: {size:,} bytes, more than the {MAX_QDC_BYTES:,} a codebook may have. Is it the right file?")
    root = parse_xml(path.read_bytes(), where=str(path))
    if local(root.tag) not in ("CodeBook", "Project"):
        raise InputError(f"{path}: the root element is <{local(root.tag)}>, expected <CodeBook>. Export the codebook again as REFI-QDA (.qdc).")
    warnings: list[str] = []
    holder = root if local(root.tag) == "CodeBook" else next((c for c in root if local(c.tag) == "CodeBook"), None)
    rows = read_codes(holder, warnings)
    if not rows:
        raise CodebookError(f"{path}: the codebook holds no codes. Export it again from your QDA program.")
    codebook, codes = build_codebook(path.stem, rows, source=str(path))
    return codebook, codes
