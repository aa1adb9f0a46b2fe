"""REFI-QDA codebooks (``.qdc``) and the ``<CodeBook>`` of projects.

A ``.qdc`` is ``<CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes><Code .../></Codes></CodeBook>``;
codes nest. autocode's definition, anchors and rules go into the code's
``<Description>`` as plain text with ``Anchors:``/``Rules:`` sections, which
:func:`read_qdc` turns back into anchors and rules, so YAML → qdc → YAML keeps them.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

from pipeline.codebook import Code, Codebook
from pipeline.errors import CodebookError, InputError
from pipeline.qda.refi import QdaCode, _read_codes, build_codebook
from pipeline.qda.xmlsafe import CODEBOOK_NS, serialise, local, new_guid, parse_xml

MAX_QDC_BYTES = 64 * 1024**2
_RGB = re.compile(r"^#([0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
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
        if code.color and _RGB.match(code.color):
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
    rows = _read_codes(holder, warnings)
    if not rows:
        raise CodebookError(f"{path}: the codebook holds no codes. Export it again from your QDA program.")
    codebook, codes = build_codebook(path.stem, rows, source=str(path))
    return codebook, codes


def import_qdc(path: str | Path, out: str | Path) -> int:
    """Write a ``.qdc`` as ``out/codebook.yaml`` plus the GUID mapping; return the number of codes."""
    import json

    from pipeline.codebook import save_codebook
    from pipeline.io import atomic_write_text
    from pipeline.qda.importer import MAPPING_FORMAT, check_out_dir

    out = Path(out)
    codebook, codes = read_qdc(path)
    check_out_dir(out, inputs=(Path(path),))
    save_codebook(codebook, out / "codebook.yaml")
    mapping = {
        "format": MAPPING_FORMAT,
        "codebook": {"file": str(path)},
        "codes": [{"id": c.id, "guid": c.guid, "name": c.name, "parent": c.parent, "codable": c.codable, "color": c.color} for c in codes],
    }
    atomic_write_text(out / "qda_project.json", json.dumps(mapping, ensure_ascii=False, indent=2) + "\n")
    return len(codes)


def export_codebook_from(inputs, out: str | Path) -> Path:
    """``autocode export --format qdc``: one codebook YAML, model folder or import folder.

    GUIDs come from a ``qda_project.json`` beside the code system when there is one, so
    codes imported from a program keep their identity.
    """
    import json

    from pipeline.codebook import load_codebook
    from pipeline.qda.export import export_qdc

    if len(inputs) != 1:
        raise InputError(f"--format qdc takes one code system, found {len(inputs)} inputs. Pass one codebook .yaml or folder.")
    src = Path(inputs[0])
    yaml_path = src / "codebook.yaml" if src.is_dir() else src
    if yaml_path.suffix.lower() not in (".yaml", ".yml"):
        raise InputError(f"{src}: expected a codebook .yaml or a folder with codebook.yaml for --format qdc.")
    codebook = load_codebook(yaml_path)
    mapping = None
    mapping_path = yaml_path.parent / "qda_project.json"
    if mapping_path.is_file():
        try:
            mapping = json.loads(mapping_path.read_text(encoding="utf-8"))
        except ValueError:
            mapping = None
    return export_qdc(codebook, out, mapping=mapping, inputs=[yaml_path])
