"""Reading REFI-QDA projects (``.qdpx``) into autocode's data.

What is read: the users, the code system (nested codes with colours and descriptions,
codable or not), every text source (``TextSource``, and the plain-text
``Representation`` of a ``PDFSource``) and every ``PlainTextSelection`` with its
codings, each coding attributed to the REFI user who made it.

Known differences between real exports and the schema that are handled:

* the ``.qde`` file is ``project.qde``, ``Project.qde`` or named after the project,
  at the top of the archive or inside one folder;
* the source folder is ``sources/`` or ``Sources/``; internal file names are matched
  without regard to case (``.TXT``, upper- or lower-case GUIDs);
* a source is ``internal://`` (in the archive), ``relative://`` (to the project's
  ``basePath``) or ``absolute://`` — external files are only read from a folder the
  user names (``sources_dir``), never from wherever the untrusted file points — or its
  text is inline in ``PlainTextContent``;
* text files with or without a UTF-8 byte-order mark (never counted as a position), with
  CR LF or LF line breaks;
* positions in code points or UTF-16 units, CR LF counted as one or two
  (:mod:`pipeline.qda.offsets`: detected per project, or chosen by the user);
* selections with only a description (memos, MAXQDA) are skipped with a warning;
  one selection per coding (MAXQDA) or many codings per selection (ATLAS.ti) both work;
* codes with ``isCodable="false"`` (categories, ATLAS.ti code groups) become parents;
* GUIDs with or without braces, in any case.

Code IDs: autocode code IDs are strings; a REFI code's ID is its name when no other code
has the same name, otherwise its path of names joined by ``/`` (``"Motive/Markt"``), and
where even that repeats, the path plus the first 8 characters of its GUID. The mapping
to GUIDs is kept (``qda_project.json``) so that exports can refer to the same codes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

from pipeline.core.codebook import Codebook
from pipeline.core.errors import InputError
from pipeline.core.io import sha256_file
from pipeline.core.types import Coding
from pipeline.qda.offsets import STANDARD, Detection, OffsetConvention, detect_convention, position_table
from pipeline.qda.qdc import QdaCode, build_codebook, read_codes
from pipeline.qda.safezip import SafeArchive, ZipLimits
from pipeline.qda.xmlsafe import (
    PROJECT_NS,
    child,
    child_text,
    children,
    local,
    namespace,
    norm_guid,
    parse_xml,
)
from pipeline.text.documents import document_stem
from pipeline.text.ingest.decode import decode_text

UNKNOWN_USER = "unknown user"


@dataclass(frozen=True)
class QdaUser:
    guid: str
    name: str


@dataclass(frozen=True)
class QdaSource:
    """A text source: ``id`` is the autocode document id, ``text`` the exact text."""

    guid: str
    name: str
    id: str
    text: str
    path: str = ""  # plainTextPath as written, "" for PlainTextContent
    element: str = "TextSource"  # or "PDFSource" (its plain-text Representation)


@dataclass(frozen=True)
class QdaImport:
    """Everything read from one ``.qdpx``.

    Attributes:
        codings: One :class:`Coding` per REFI coding, offsets converted to code points of
            ``source.text``; ``coder`` is the REFI user's name.
        convention: The offset convention the positions were read with.
        warnings: One line per thing skipped, saying what and why.
    """

    name: str
    origin: str
    path: str
    sha256: str
    users: tuple[QdaUser, ...]
    codes: tuple[QdaCode, ...]
    sources: tuple[QdaSource, ...]
    codings: tuple[Coding, ...]
    codebook: Codebook
    convention: OffsetConvention = STANDARD
    convention_reason: str = ""
    warnings: tuple[str, ...] = ()
    coding_guids: tuple[tuple[str, str], ...] = field(default=(), compare=False)  # (selection, coding) per coding

    def summary(self) -> dict:
        per_coder = Counter(c.coder for c in self.codings)
        return {
            "project": self.name,
            "origin": self.origin,
            "sources": len(self.sources),
            "codes": len(self.codes),
            "coders": sorted(per_coder),
            "codings": len(self.codings),
            "codings_per_coder": dict(sorted(per_coder.items())),
            "offsets": {"unit": self.convention.unit, "crlf": self.convention.crlf, "reason": self.convention_reason},
            "warnings": len(self.warnings),
        }


# ----------------------------------------------------------------------------- locating


@dataclass(frozen=True)
class ProjectFile:
    """The ``.qde`` entry of an archive and the folder its sources are in."""

    qde: str
    base: str  # folder of the .qde inside the archive ("" at the top)
    sources: str  # the sources folder as spelled in the archive ("sources", "Sources", ...)


def locate_project(archive: SafeArchive) -> ProjectFile:
    """Find the ``.qde`` file (top level or one folder down) and the sources folder."""
    qdes = [n for n in archive.names if n.lower().endswith(".qde") and n.count("/") <= 1]
    if not qdes:
        raise InputError(
            f"{archive.path}: no .qde file in the archive (found: {', '.join(archive.names[:5]) or 'nothing'}). "
            "A REFI-QDA project (.qdpx) holds project.qde and a sources/ folder; export the project "
            "again with 'REFI-QDA project' as the format."
        )
    top = [n for n in qdes if "/" not in n] or qdes
    preferred = [n for n in top if PurePosixPath(n).name.lower() == "project.qde"]
    if len(preferred) == 1:
        qde = preferred[0]
    elif len(top) == 1:
        qde = top[0]
    else:
        raise InputError(
            f"{archive.path}: several .qde files ({', '.join(sorted(top))}) and none is project.qde. "
            "Export the project again so that the archive holds one project."
        )
    base = qde.rsplit("/", 1)[0] if "/" in qde else ""
    prefix = base + "/" if base else ""
    folders = Counter(n[len(prefix):].split("/", 1)[0] for n in archive.names if n.startswith(prefix) and "/" in n[len(prefix):])
    sources = next((f for f in ("sources", "Sources") if f in folders), "")
    if not sources:
        sources = next((f for f in folders if f.lower() == "sources"), "sources")
    return ProjectFile(qde, base, sources)


# ----------------------------------------------------------------------------- ids


def document_id(name: str, guid: str) -> str:
    """A file-safe document id from a source name (``"Interview 1.docx"`` → ``"Interview 1"``,
    :func:`pipeline.text.documents.document_stem`), or from its GUID when nothing is left
    of the name.

    The id becomes a file name under ``--out``; separators and other characters that
    could leave the folder or are invalid on Windows become ``_``.

    >>> document_id("../../etc/passwd", "x")
    '_.._etc_passwd'
    >>> document_id("Interview Müller.docx", "x")
    'Interview Müller'
    """
    return document_stem(name) or "source-" + norm_guid(guid)[:8]


def _unique(ids: list[str], guids: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, g in zip(ids, guids):
        candidate, n = i, 1
        while candidate.lower() in seen:
            n += 1
            candidate = f"{i}-{n}"
        seen.add(candidate.lower())
        out.append(candidate)
    return out


# ----------------------------------------------------------------------------- reading


@dataclass
class _Selection:
    start: int
    end: int
    name: str
    guid: str
    user: str
    description: str
    codings: list[tuple[str, str, str]]  # (coding guid, user guid, code guid)


@dataclass
class _Source:
    guid: str
    name: str
    text: str
    path: str
    element: str
    user: str
    selections: list[_Selection]


def _user_of(el: ET.Element) -> str:
    return norm_guid(el.get("creatingUser") or el.get("modifyingUser"))


def _external_file(path_attr: str, base_path: str, sources_dir: Path | None) -> tuple[Path | None, str]:
    """Resolve a relative:// or absolute:// path inside ``sources_dir`` only."""
    scheme, _, rest = path_attr.partition("://")
    rest = rest.lstrip("/")
    if sources_dir is None:
        return None, (
            f"its text is an external file ({path_attr}); pass --sources-dir with the folder that "
            "holds it to import it"
        )
    root = sources_dir.resolve()
    candidates = []
    if scheme.lower() == "relative":
        candidates.append(root / PurePosixPath(rest.replace("\\", "/")))
    name = PureWindowsPath(rest).name if "\\" in rest else PurePosixPath(rest).name
    candidates.append(root / name)
    for cand in candidates:
        try:
            resolved = cand.resolve()
        except OSError:
            continue
        if resolved.is_file() and resolved.is_relative_to(root):
            return resolved, ""
    return None, f"its external file {path_attr} is not in {sources_dir} (looked for {name!r})"


def _read_text_source(
    el: ET.Element,
    *,
    name: str,
    element: str,
    archive: SafeArchive,
    project: ProjectFile,
    base_path: str,
    sources_dir: Path | None,
    warnings: list[str],
) -> _Source | None:
    guid = norm_guid(el.get("guid"))
    label = f"source {name!r}"
    text: str | None = None
    path_attr = (el.get("plainTextPath") or "").strip()
    content = child(el, "PlainTextContent")
    if content is not None and (content.text or "") and not path_attr:
        text = content.text or ""
    elif path_attr:
        scheme = path_attr.split("://", 1)[0].lower() if "://" in path_attr else "internal"
        if scheme == "internal":
            inner = path_attr.split("://", 1)[-1].lstrip("/")
            prefix = (project.base + "/" if project.base else "")
            entry = archive.find(f"{prefix}{project.sources}/{inner}") or archive.find(f"{prefix}{inner}")
            if entry is None:
                warnings.append(f"{label}: skipped: its text file {path_attr} is not in the archive's {project.sources}/ folder")
                return None
            data = archive.read(entry)
        elif scheme in ("relative", "absolute"):
            found, why = _external_file(path_attr, base_path, sources_dir)
            if found is None:
                warnings.append(f"{label}: skipped: {why}")
                return None
            data = found.read_bytes()
        else:
            warnings.append(f"{label}: skipped: unknown path scheme in {path_attr!r} (expected internal://, relative:// or absolute://)")
            return None
        if not data:
            text = ""
        else:
            try:
                text, _ = decode_text(data, where=f"{archive.path}: {label} ({path_attr})")
            except InputError as exc:
                warnings.append(f"{label}: skipped: {exc}")
                return None
    elif content is not None:
        text = content.text or ""
    else:
        rich = el.get("richTextPath")
        why = f"it has only a formatted version ({rich}) and no plain text" if rich else "it has neither plainTextPath nor PlainTextContent"
        warnings.append(f"{label}: skipped: {why}; its selections refer to a plain text that is missing. Export the project again with plain-text sources.")
        return None
    selections: list[_Selection] = []
    for sel in children(el, "PlainTextSelection"):
        try:
            start, end = int(sel.get("startPosition", "")), int(sel.get("endPosition", ""))
        except ValueError:
            warnings.append(
                f"{label}: selection {sel.get('guid')}: skipped: startPosition/endPosition "
                f"{sel.get('startPosition')!r}/{sel.get('endPosition')!r} are not whole numbers"
            )
            continue
        codings = []
        for coding in children(sel, "Coding"):
            ref = child(coding, "CodeRef")
            codings.append((norm_guid(coding.get("guid")), _user_of(coding), norm_guid(ref.get("targetGUID") if ref is not None else "")))
        selections.append(
            _Selection(start, end, sel.get("name") or "", norm_guid(sel.get("guid")), _user_of(sel), child_text(sel, "Description"), codings)
        )
    if children(el, "Coding"):
        warnings.append(f"{label}: {len(children(el, 'Coding'))} codings of the whole source skipped (autocode codes text spans)")
    return _Source(guid, name, text, path_attr, element, _user_of(el), selections)


def read_qdpx(
    path: str | Path,
    *,
    offsets: OffsetConvention | None = None,
    unit: str | None = None,
    crlf: str | None = None,
    sources_dir: str | Path | None = None,
    limits: ZipLimits = ZipLimits(),
) -> QdaImport:
    """Read a REFI-QDA project.

    Args:
        path: The ``.qdpx`` file (an untrusted zip; see :mod:`pipeline.qda.safezip`).
        offsets: How positions are counted; ``None`` detects it from the project
            (:func:`pipeline.qda.offsets.detect_convention`).
        unit, crlf: Fix one aspect of the convention and detect the other.
        sources_dir: Folder holding external (``relative://``/``absolute://``) sources;
            without it they are skipped with a warning.
        limits: Archive limits.

    Returns:
        A :class:`QdaImport`; everything skipped is listed in ``warnings``.

    Raises:
        InputError: the archive is unsafe, damaged or holds no REFI-QDA project.
    """
    path = Path(path)
    sha = sha256_file(path) if path.is_file() else ""
    warnings: list[str] = []
    with SafeArchive(path, limits=limits) as archive:
        project = locate_project(archive)
        root = parse_xml(archive.read(project.qde), where=f"{path}:{project.qde}")
        if local(root.tag) != "Project":
            raise InputError(
                f"{path}:{project.qde}: the root element is <{local(root.tag)}>, expected <Project>. "
                "This is not a REFI-QDA project; export it again."
            )
        if namespace(root.tag) != PROJECT_NS:
            warnings.append(
                f"{project.qde}: namespace {namespace(root.tag) or '(none)'!r} instead of {PROJECT_NS!r}; read anyway"
            )
        name = root.get("name") or path.stem
        origin = root.get("origin") or ""
        base_path = root.get("basePath") or ""
        srcdir = Path(sources_dir) if sources_dir is not None else None

        users: dict[str, QdaUser] = {}
        users_el = child(root, "Users")
        raw_users = [(norm_guid(u.get("guid")), (u.get("name") or u.get("id") or "").strip()) for u in (children(users_el, "User") if users_el is not None else [])]
        name_counts = Counter(n for _, n in raw_users if n)
        for guid, uname in raw_users:
            if not guid:
                continue
            uname = uname or f"user {guid[:8]}"
            if name_counts[uname] > 1:  # two REFI users with one name stay two coders
                uname = f"{uname} [{guid[:8]}]"
            users[guid] = QdaUser(guid, uname)

        code_rows = read_codes(child(root, "CodeBook"), warnings)
        codebook, qcodes = build_codebook(name, code_rows, source=f"{path}:{project.qde}")
        code_by_guid = {c.guid: c for c in qcodes}

        raw_sources: list[_Source] = []
        sources_el = child(root, "Sources")
        skipped_kinds: Counter = Counter()
        for el in list(sources_el) if sources_el is not None else []:
            if not isinstance(el.tag, str):
                continue
            kind = local(el.tag)
            sname = (el.get("name") or "").strip() or f"source {norm_guid(el.get('guid'))[:8]}"
            common = dict(archive=archive, project=project, base_path=base_path, sources_dir=srcdir, warnings=warnings)
            if kind == "TextSource":
                src = _read_text_source(el, name=sname, element="TextSource", **common)
            elif kind == "PDFSource" and child(el, "Representation") is not None:
                rep = child(el, "Representation")
                src = _read_text_source(rep, name=sname, element="PDFSource", **common)
                if src is not None:
                    src.guid = norm_guid(el.get("guid")) or src.guid
                if children(el, "PDFSelection"):
                    warnings.append(f"source {sname!r}: {len(children(el, 'PDFSelection'))} PDF area selections skipped (only text selections are read)")
            else:
                skipped_kinds[kind] += 1
                continue
            if src is not None:
                raw_sources.append(src)
        for kind, n in sorted(skipped_kinds.items()):
            warnings.append(f"{n} {kind} element(s) skipped: autocode reads text sources only")
        for section in ("Cases", "Variables", "Notes", "Sets", "Links", "Graphs"):
            if child(root, section) is not None:
                warnings.append(f"<{section}> not imported (autocode has no use for it); 'autocode export --merge' keeps it")

    if offsets is None:
        detection = detect_convention(
            [(s.text, [(x.start, x.end, x.name) for x in s.selections]) for s in raw_sources],
            origin=origin,
            unit=unit,
            crlf=crlf,
        )
    else:
        detection = Detection(offsets, "chosen by the user")
    if detection.ambiguous:
        warnings.append(
            f"offsets: {detection.reason} ({detection.convention}). If codings look shifted in the "
            "sources with emoji or CR LF line breaks, import again with --offset-unit/--crlf."
        )

    ids = _unique([document_id(s.name, s.guid) for s in raw_sources], [s.guid for s in raw_sources])
    sources = tuple(QdaSource(s.guid, s.name, i, s.text, s.path, s.element) for s, i in zip(raw_sources, ids))
    codings: list[tuple[Coding, str, str]] = []
    project_user = norm_guid(root.get("creatingUserGUID"))
    for src, qsrc in zip(raw_sources, sources):
        table = position_table(src.text, detection.convention)
        memo_only: list[str] = []
        for sel in src.selections:
            where = f"{path.name}: source {src.name!r}, selection {sel.start}–{sel.end}"
            if not sel.codings:
                memo_only.append(f"{sel.start}–{sel.end}")
                continue
            if not (0 <= sel.start < sel.end < len(table)) or table[sel.start] < 0 or table[sel.end] < 0:
                why = "is empty or reversed" if sel.end <= sel.start else (
                    f"does not fit the text ({len(table) - 1} positions as {detection.convention})"
                )
                warnings.append(f"{where}: skipped with its {len(sel.codings)} coding(s): the selection {why}")
                continue
            start, end = table[sel.start], table[sel.end]
            for coding_guid, user_guid, code_guid in sel.codings:
                code = code_by_guid.get(code_guid)
                if code is None:
                    warnings.append(f"{where}: coding {coding_guid} skipped: its code {code_guid or '(none)'} is not in the code system")
                    continue
                who = user_guid or sel.user or src.user or project_user
                coder = users[who].name if who in users else (f"user {who[:8]}" if who else UNKNOWN_USER)
                codings.append((Coding(qsrc.id, start, end, code.id, coder, where), sel.guid, coding_guid))
        if memo_only:
            shown = ", ".join(memo_only[:5]) + (", …" if len(memo_only) > 5 else "")
            warnings.append(
                f"source {src.name!r}: {len(memo_only)} selection(s) without a coding (description or memo only) skipped: {shown}"
            )
    codings.sort(key=lambda t: (t[0].document, t[0].start, t[0].end, t[0].code, t[0].coder, t[2]))

    parents = set(codebook.parent_ids)
    on_parent = Counter(c.code for c, _, _ in codings if c.code in parents)
    for code_id, n in sorted(on_parent.items()):
        warnings.append(
            f"code {code_id!r}: {n} coding(s) on a code with subcodes; they are imported, but training "
            "ignores codes with children (a parent follows from its children)"
        )
    not_codable = {c.id for c in qcodes if not c.codable}
    for code_id, n in sorted(Counter(c.code for c, _, _ in codings if c.code in not_codable).items()):
        warnings.append(f"code {code_id!r} is marked not codable (isCodable=false) but has {n} coding(s); imported anyway")
    used_users = {u for s in raw_sources for x in s.selections for _, u, _ in x.codings if u}
    for u in sorted(used_users - set(users)):
        warnings.append(f"user {u} made codings but is not in <Users>; their coder name is 'user {u[:8]}'")

    return QdaImport(
        name=name,
        origin=origin,
        path=str(path),
        sha256=sha,
        users=tuple(users.values()),
        codes=qcodes,
        sources=sources,
        codings=tuple(c for c, _, _ in codings),
        codebook=codebook,
        convention=detection.convention,
        convention_reason=detection.reason,
        warnings=tuple(warnings),
        coding_guids=tuple((s, g) for _, s, g in codings),
    )


def coders_by_document(result: QdaImport) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for c in result.codings:
        out[c.document][c.coder] = out[c.document].get(c.coder, 0) + 1
    return dict(out)
