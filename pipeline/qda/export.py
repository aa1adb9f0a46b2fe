"""Exporting the model's codes as a REFI-QDA project (``.qdpx``).

The model becomes one more REFI user, ``"autocode <model name>"``; each (segment, code)
it assigned becomes its own ``PlainTextSelection`` with one ``Coding`` and the score in
the selection's ``Description`` (``"autocode <model>: MOT-MARKT p=0.873"``), so a
researcher can filter the model's codings by user and review them beside their own.
Selection and coding GUIDs are derived from model, document, span and code: exporting
again gives the same GUIDs, and merging twice adds nothing twice.

What is written (the convention of :mod:`pipeline.qda.offsets`):

* ``project.qde`` at the top, namespace ``urn:QDA-XML:project:1.0``, valid against the
  REFI-QDA 1.0 project schema (``Project-mrt2019.xsd``);
* ``sources/<guid>.txt``: the exact source text, UTF-8 without byte-order mark, line
  breaks as in the source (CR LF stays CR LF);
* positions in Unicode code points with CR LF counted as two — the standard — unless
  ``offsets`` says otherwise (``utf16`` for NVivo; ``crlf="one"`` for programs that count
  CR LF once). When merging, the convention the original project was read with is used,
  so its program reads the new codings the way it wrote its own.

With ``merge`` (the ``.qdpx`` the hand codes were imported from), the original project
is kept whole: every entry of the archive is copied byte for byte (only the ``.qde`` is
renamed ``project.qde`` and the source folder ``sources/``), every element and GUID of
the XML is kept, and the model's user, any codes the project lacks and the model's
selections are added.
"""

from __future__ import annotations

import hashlib
import json
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.codebook import Code, Codebook, load_codebook
from pipeline.core.errors import InputError, ModelError, OutputError
from pipeline.core.io import atomic_open, atomic_write_bytes, check_output_path, classify_output_files
from pipeline.qda.offsets import STANDARD, OffsetConvention, index_table
from pipeline.qda.qdc import RGB_COLOR, add_codes, code_guids, codebook_to_qdc, describe
from pipeline.qda.refi import QdaImport, locate_project, read_qdpx
from pipeline.qda.safezip import SafeArchive, ZipLimits
from pipeline.qda.xmlsafe import (
    PROJECT_NS,
    child,
    children,
    local,
    namespace,
    new_guid,
    norm_guid,
    parse_xml,
    serialise,
)
from pipeline.text.code_check import CodeUse, check_codes
from pipeline.text.ingest import read_transcript

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # zip entry times: identical input, identical bytes


@dataclass(frozen=True)
class ModelCoding:
    """One code the model assigned to one segment (offsets in code points); ``note``,
    when given, is the selection's description instead of the code and score."""

    start: int
    end: int
    code: str
    score: float | None
    segment: str
    note: str = ""
    coder: str = ""  # a hand code's coder (its own REFI user); "" the model's


@dataclass(frozen=True)
class ClassifiedDocument:
    """A classify output with the source text it refers to."""

    id: str
    text: str
    model: str
    model_dir: str
    codings: tuple[ModelCoding, ...]
    path: str


def read_classify_output(path: str | Path) -> ClassifiedDocument:
    """Read ``OUT/<stem>.jsonl`` and ``OUT/<stem>.meta.json`` with the source text.

    Raises:
        InputError: a file is missing or malformed, or the source changed since it was
            classified (its SHA-256 differs), so the offsets would no longer fit.
    """
    path = Path(path)
    meta_path = path.with_name(path.name[: -len(path.suffix)] + ".meta.json") if path.suffix else path.with_suffix(".meta.json")
    if not path.is_file():
        raise InputError(f"{path}: no such classify output. Pass the .jsonl files that 'autocode classify' wrote.")
    if not meta_path.is_file():
        raise InputError(f"{path}: its metadata {meta_path.name} is missing beside it. Export the folder 'autocode classify' wrote, unchanged.")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise InputError(f"{meta_path}: not valid JSON ({exc}). Classify the transcript again.") from None
    for key in ("source", "model"):
        if not meta.get(key):
            raise InputError(f"{meta_path}: no {key!r}; expected the metadata 'autocode classify' writes. Classify again.")
    source = Path(meta["source"])
    if not source.is_file():
        raise InputError(f"{meta_path}: its source {source} does not exist any more. Put it back or classify again.")
    if meta.get("source_sha256"):
        digest = hashlib.sha256(source.read_bytes()).hexdigest()
        if digest != meta["source_sha256"]:
            raise InputError(
                f"{meta_path}: the source {source} changed since it was classified (SHA-256 differs), so the "
                "offsets no longer fit it. Classify it again."
            )
    transcript = read_transcript(source)
    codings = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            seg = json.loads(line)
            start, end = int(seg["start"]), int(seg["end"])
            codes = list(seg.get("codes") or [])
            scores = seg.get("scores") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: not a classify record ({type(exc).__name__}: {exc}); expected start, end, codes, scores.") from None
        if not 0 <= start < end <= len(transcript.text):
            raise InputError(
                f"{path}:{n}: segment {start}–{end} lies outside its source ({len(transcript.text)} characters). "
                "The output does not belong to this source; classify it again."
            )
        for code in codes:
            score = scores.get(code)
            codings.append(ModelCoding(start, end, str(code), float(score) if score is not None else None, str(seg.get("id", n))))
    return ClassifiedDocument(
        id=str(meta.get("transcript") or transcript.id),
        text=transcript.text,
        model=str(meta["model"]),
        model_dir=str(meta.get("model_dir") or ""),
        codings=tuple(codings),
        path=str(path),
    )


def model_codebook(docs: Sequence[ClassifiedDocument]) -> Codebook:
    """The code system of the model that wrote ``docs`` (``model_dir/codebook.yaml``)."""
    dirs = sorted({d.model_dir for d in docs})
    if len(dirs) != 1 or not dirs[0]:
        raise ModelError(
            f"the classify outputs come from {len(dirs)} model folders ({', '.join(dirs) or 'none named'}); "
            "export the outputs of one model at a time."
        )
    path = Path(dirs[0]) / "codebook.yaml"
    if not path.is_file():
        raise ModelError(f"{path}: the model's code system is missing. Point the outputs at an intact model folder.")
    return load_codebook(path)


def user_name(model: str) -> str:
    return f"autocode {model}"


def _snippet(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _description(model: str, code_name: str, score: float | None) -> str:
    return f"{user_name(model)}: {code_name}" + (f" p={score:.3f}" if score is not None else "")


def _insert_at(source_el: ET.Element) -> int:
    """Index after Description/PlainTextContent/PlainTextSelection (schema order)."""
    last = 0
    for i, el in enumerate(list(source_el)):
        if isinstance(el.tag, str) and local(el.tag) in ("Description", "PlainTextContent", "PlainTextSelection"):
            last = i + 1
    return last


def _add_selections(
    source_el: ET.Element,
    doc: ClassifiedDocument,
    *,
    ns: str,
    convention: OffsetConvention,
    user_guid: str,
    code_guid: dict[str, str],
    code_name: dict[str, str],
    existing: set[str],
    coder_guids: dict[str, str] | None = None,
) -> int:
    table = index_table(doc.text, convention)
    at = _insert_at(source_el)
    added = 0
    for mc in sorted(doc.codings, key=lambda m: (m.start, m.end, m.code)):
        sel_guid = new_guid("selection", doc.model, *([mc.coder] if mc.coder else []), doc.id, str(mc.start), str(mc.end), mc.code)
        if sel_guid in existing:
            continue
        by = (coder_guids or {}).get(mc.coder, user_guid)
        sel = ET.Element(
            f"{{{ns}}}PlainTextSelection",
            {
                "guid": sel_guid,
                "name": _snippet(doc.text[mc.start:mc.end]),
                "startPosition": str(table[mc.start]),
                "endPosition": str(table[mc.end]),
                "creatingUser": by,
            },
        )
        ET.SubElement(sel, f"{{{ns}}}Description").text = mc.note or _description(doc.model, code_name.get(mc.code, mc.code), mc.score)
        coding = ET.SubElement(sel, f"{{{ns}}}Coding", {"guid": new_guid("coding", sel_guid), "creatingUser": by})
        ET.SubElement(coding, f"{{{ns}}}CodeRef", {"targetGUID": code_guid[mc.code]})
        source_el.insert(at + added, sel)
        added += 1
    return added


def _check_codes(docs: Sequence[ClassifiedDocument], codebook: Codebook, *, allow_new: bool = False) -> Codebook:
    """Every code of the outputs in the model's code system (all unknown codes in one
    message); ``allow_new``: the code system with the unknown codes added at its end."""
    uses = [CodeUse(mc.code, d.model, f"{d.path} (segment {mc.segment})") for d in docs for mc in d.codings]
    new = check_codes(uses, codebook=codebook, origin=f"the code system of the model that coded them ({codebook.source})",
                      allow_new=allow_new, consequence="They are added to the exported code system")
    if not new:
        return codebook
    return Codebook(codebook.name, codebook.codes + tuple(Code(id=c, name=c) for c in new), codebook.description, codebook.source)


@dataclass(frozen=True)
class ExportResult:
    path: str
    sources: int
    codings: int
    added_sources: tuple[str, ...] = ()
    added_codes: tuple[str, ...] = ()
    convention: OffsetConvention = STANDARD
    user: str = ""


def _write_zip(out: Path, entries: Sequence[tuple[str, object]]) -> None:
    """Write a zip atomically; an entry is ``(name, bytes)`` or ``(name, (archive, name))``."""
    with atomic_open(out, "wb") as fh:
        with zipfile.ZipFile(fh, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, content in entries:
                info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                if isinstance(content, bytes):
                    zf.writestr(info, content)
                else:
                    archive, entry = content
                    with zf.open(info, "w", force_zip64=True) as dst:
                        archive.copy(entry, dst)


def _check_out(out: Path, inputs: Sequence[Path], suffix: str) -> None:
    check_output_path(out, kind="file", option="--out", suffixes=(suffix,))
    for inp in inputs:
        if out.resolve() == inp.resolve():
            raise OutputError(f"{out}: is one of the inputs; autocode never overwrites its input. Pass another --out.")


def _serialise(root: ET.Element, ns: str) -> bytes:
    return serialise(root)


def export_qdpx(
    outputs: Sequence[str | Path],
    out: str | Path,
    *,
    merge: str | Path | None = None,
    offsets: OffsetConvention | None = None,
    project_name: str = "",
    unit: str | None = None,
    crlf: str | None = None,
    limits: ZipLimits = ZipLimits(),
    allow_new_codes: bool = False,
) -> ExportResult:
    """Write the model's codings on the classified documents as a ``.qdpx``.

    Args:
        outputs: Classify outputs (``OUT/<stem>.jsonl``, with ``<stem>.meta.json`` beside).
        out: The ``.qdpx`` to write (atomically; never one of the inputs).
        merge: The project the hand codes were imported from; kept whole, with the
            model's codings added. Documents are matched to its sources by their text.
        offsets: The convention to write; default: the standard, or when merging the one
            the project was read with (detected).
        project_name: The project's name for a new project (default ``"autocode <model>"``).
        unit, crlf: When merging, fix one aspect of the project's convention.
        allow_new_codes: Export codes that are not in the model's code system (an edited
            output) as codes of their own instead of failing.

    Returns:
        What was written (:class:`ExportResult`).
    """
    out = Path(out)
    paths = classify_output_files(outputs)
    _check_out(out, paths + ([Path(merge)] if merge else []), ".qdpx")
    docs = [read_classify_output(p) for p in paths]
    if not docs:
        raise InputError("no classify outputs given. Pass the .jsonl files that 'autocode classify' wrote.")
    models = sorted({d.model for d in docs})
    if len(models) != 1:
        raise ModelError(f"the classify outputs come from several models ({', '.join(models)}); export one model at a time.")
    model = models[0]
    codebook = _check_codes(docs, model_codebook(docs), allow_new=allow_new_codes)
    if merge is not None:
        return _merge(docs, codebook, model, out, Path(merge), offsets, limits, unit, crlf)
    return _fresh(docs, codebook, model, out, offsets or STANDARD, project_name)


def export_documents(docs: Sequence[ClassifiedDocument], out: str | Path, *, codebook: Codebook, model: str, project_name: str = "") -> ExportResult:
    """Write documents held in memory with their codings as a new ``.qdpx`` (standard
    offsets); the codings' codes must be in ``codebook``."""
    out = Path(out)
    _check_out(out, [Path(d.path) for d in docs if d.path], ".qdpx")
    codebook = _check_codes(docs, codebook)
    return _fresh(docs, codebook, model, out, STANDARD, project_name)


def _fresh(docs, codebook: Codebook, model: str, out: Path, convention: OffsetConvention, project_name: str) -> ExportResult:
    ns = PROJECT_NS
    user = user_name(model)
    user_guid = new_guid("user", user)
    root = ET.Element(f"{{{ns}}}Project", {"name": project_name or user, "origin": "autocode", "creatingUserGUID": user_guid})
    users = ET.SubElement(root, f"{{{ns}}}Users")
    ET.SubElement(users, f"{{{ns}}}User", {"guid": user_guid, "name": user})
    coder_guids = {}
    for coder in sorted({mc.coder for d in docs for mc in d.codings if mc.coder}):
        coder_guids[coder] = new_guid("user", "coder", coder)
        ET.SubElement(users, f"{{{ns}}}User", {"guid": coder_guids[coder], "name": coder})
    guids = code_guids(codebook)
    if codebook.codes:
        cb = ET.SubElement(root, f"{{{ns}}}CodeBook")
        add_codes(ET.SubElement(cb, f"{{{ns}}}Codes"), codebook, ns, guids=guids)
    sources_el = ET.SubElement(root, f"{{{ns}}}Sources")
    entries: list[tuple[str, object]] = []
    names = {c.id: c.name or c.id for c in codebook.codes}
    n = 0
    seen_ids: set[str] = set()
    for doc in sorted(docs, key=lambda d: d.id):
        if doc.id in seen_ids:
            raise InputError(f"{doc.path}: a second classify output for document {doc.id!r}; export each document once.")
        seen_ids.add(doc.id)
        sguid = new_guid("source", doc.id, hashlib.sha256(doc.text.encode("utf-8")).hexdigest())
        el = ET.SubElement(
            sources_el,
            f"{{{ns}}}TextSource",
            {"guid": sguid, "name": doc.id, "plainTextPath": f"internal://{sguid}.txt", "creatingUser": user_guid},
        )
        n += _add_selections(el, doc, ns=ns, convention=convention, user_guid=user_guid, code_guid=guids, code_name=names, existing=set(),
                             coder_guids=coder_guids)
        entries.append((f"sources/{sguid}.txt", doc.text.encode("utf-8")))
    ET.indent(root)
    entries.insert(0, ("project.qde", _serialise(root, ns)))
    _write_zip(out, entries)
    return ExportResult(str(out), len(docs), n, convention=convention, user=user)


class _Copier:
    """Copies entries of the original archive, counting bytes against the total limit."""

    def __init__(self, archive: SafeArchive):
        self.archive = archive
        self.total = 0

    def copy(self, entry: str, dst) -> None:
        with self.archive._zip.open(self.archive._infos[entry]) as src:
            while True:
                chunk = src.read(1 << 20)
                if not chunk:
                    break
                self.total += len(chunk)
                if self.total > self.archive.limits.max_total_bytes:
                    raise InputError(
                        f"{self.archive.path}: refused: the entries decompress to more than "
                        f"{self.archive.limits.max_total_bytes:,} bytes (the limit). Nothing was written."
                    )
                dst.write(chunk)


def _merge(docs, codebook: Codebook, model: str, out: Path, merge: Path, offsets: OffsetConvention | None, limits: ZipLimits, unit=None, crlf=None) -> ExportResult:
    imported: QdaImport = read_qdpx(merge, offsets=offsets, unit=unit, crlf=crlf, limits=limits)
    convention = imported.convention
    with SafeArchive(merge, limits=limits) as archive:
        project = locate_project(archive)
        root = parse_xml(archive.read(project.qde), where=f"{merge}:{project.qde}")
        ns = namespace(root.tag) or PROJECT_NS
        user = user_name(model)
        user_guid = new_guid("user", user)

        users = child(root, "Users")
        if users is None:
            users = ET.Element(f"{{{ns}}}Users")
            root.insert(0, users)
        if not any(norm_guid(u.get("guid")) == user_guid for u in children(users, "User")):
            ET.SubElement(users, f"{{{ns}}}User", {"guid": user_guid, "name": user})

        # Codes: the project's GUIDs for the codes it has; new codes for the others.
        by_id = {c.id: c.guid for c in imported.codes}
        guid_elements = {}
        for el in root.iter():
            if isinstance(el.tag, str) and local(el.tag) == "Code" and el.get("guid"):
                guid_elements[norm_guid(el.get("guid"))] = el
        cb = child(root, "CodeBook")
        missing = [c for c in codebook.codes if c.id not in by_id]
        if missing:
            if cb is None:
                cb = ET.Element(f"{{{ns}}}CodeBook")
                root.insert(list(root).index(users) + 1, cb)
            codes_el = child(cb, "Codes")
            if codes_el is None:
                codes_el = ET.SubElement(cb, f"{{{ns}}}Codes")
            new_guids = code_guids(codebook)
            for code in missing:
                parent_el = codes_el
                if code.parent:
                    pg = by_id.get(code.parent) or new_guids[code.parent]
                    parent_el = guid_elements.get(norm_guid(pg), codes_el)
                attrs = {"guid": new_guids[code.id], "name": code.name or code.id,
                         "isCodable": "true" if code.id in codebook.leaf_ids else "false"}
                if code.color and RGB_COLOR.match(code.color):
                    attrs["color"] = code.color
                el = ET.SubElement(parent_el, f"{{{ns}}}Code", attrs)
                if describe(code):
                    ET.SubElement(el, f"{{{ns}}}Description").text = describe(code)
                guid_elements[norm_guid(new_guids[code.id])] = el
                by_id[code.id] = new_guids[code.id]
        names = {c.id: c.name or c.id for c in codebook.codes}

        # Sources: match by exact text; unmatched documents become new sources.
        sources_el = child(root, "Sources")
        if sources_el is None:
            sources_el = ET.Element(f"{{{ns}}}Sources")
            anchor = [i for i, el in enumerate(root) if isinstance(el.tag, str) and local(el.tag) in ("Users", "CodeBook", "Variables", "Cases")]
            root.insert(anchor[-1] + 1 if anchor else 0, sources_el)
        src_elements = {norm_guid(el.get("guid")): el for el in sources_el if isinstance(el.tag, str)}
        by_text: dict[str, list] = {}
        for s in imported.sources:
            by_text.setdefault(s.text, []).append(s)
        existing = {norm_guid(el.get("guid")) for el in root.iter() if isinstance(el.tag, str) and local(el.tag) == "PlainTextSelection"}
        added_sources: list[str] = []
        new_entries: list[tuple[str, object]] = []
        n = 0
        for doc in sorted(docs, key=lambda d: d.id):
            matches = by_text.get(doc.text, [])
            match = next((s for s in matches if s.id == doc.id), matches[0] if matches else None)
            if match is not None:
                el = src_elements[match.guid]
                if local(el.tag) == "PDFSource":
                    el = child(el, "Representation")
                n += _add_selections(el, doc, ns=ns, convention=convention, user_guid=user_guid, code_guid=by_id, code_name=names, existing=existing)
                continue
            sguid = new_guid("source", doc.id, hashlib.sha256(doc.text.encode("utf-8")).hexdigest())
            el = ET.SubElement(sources_el, f"{{{ns}}}TextSource", {"guid": sguid, "name": doc.id, "plainTextPath": f"internal://{sguid}.txt", "creatingUser": user_guid})
            n += _add_selections(el, doc, ns=ns, convention=convention, user_guid=user_guid, code_guid=by_id, code_name=names, existing=existing)
            new_entries.append((f"sources/{sguid}.txt", doc.text.encode("utf-8")))
            added_sources.append(doc.id)

        qde = _serialise(root, ns)
        prefix = project.base + "/" if project.base else ""
        copier = _Copier(archive)
        entries: list[tuple[str, object]] = [("project.qde", qde)]
        taken = {"project.qde"} | {name for name, _ in new_entries}
        for name in archive.names:
            if name == project.qde:
                continue
            rel = name[len(prefix):] if prefix and name.startswith(prefix) else name
            if rel.startswith(project.sources + "/"):
                rel = "sources/" + rel[len(project.sources) + 1:]
            if rel in taken:
                continue
            taken.add(rel)
            entries.append((rel, (copier, name)))
        entries.extend(new_entries)
        _write_zip(out, entries)
    return ExportResult(
        str(out), len(docs), n, tuple(added_sources), tuple(c.id for c in missing), convention, user
    )


def export_qdc(codebook: Codebook, out: str | Path, *, mapping: dict | None = None, inputs: Sequence[str | Path] = ()) -> Path:
    """Write ``codebook`` as a ``.qdc``; ``mapping`` (an import's ``qda_project.json``) supplies GUIDs."""
    out = Path(out)
    _check_out(out, [Path(p) for p in inputs], ".qdc")
    known = {c["id"]: c["guid"] for c in (mapping or {}).get("codes", [])}
    codable = {c["id"]: bool(c.get("codable", True)) for c in (mapping or {}).get("codes", [])}
    atomic_write_bytes(out, codebook_to_qdc(codebook, guids=code_guids(codebook, known), codable=codable))
    return out


def export_codebook_from(inputs, out: str | Path) -> Path:
    """``autocode export --format qdc``: one codebook YAML, model folder or import folder.

    GUIDs come from a ``qda_project.json`` beside the code system when there is one, so
    codes imported from a program keep their identity.
    """
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
