"""Parsing untrusted REFI-QDA XML: no DTDs, no entities, no external resources."""

from __future__ import annotations

import uuid
import xml.etree.ElementTree as ET

import defusedxml
import defusedxml.ElementTree as DET

from pipeline.core.errors import InputError

PROJECT_NS = "urn:QDA-XML:project:1.0"
CODEBOOK_NS = "urn:QDA-XML:codebook:1.0"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


def parse_xml(data: bytes, *, where: str) -> ET.Element:
    """Parse XML bytes with every expansion switched off.

    A document type declaration is refused outright: REFI-QDA files never need one, and it
    is where entity bombs ("billion laughs") and external entities (XXE) live.

    Raises:
        InputError: the XML declares a DTD or entities, or is not well-formed.
    """
    try:
        return DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DTDForbidden:
        raise InputError(
            f"{where}: refused: the XML declares a document type (DTD). REFI-QDA files have none; "
            "a DTD is how entity-expansion ('billion laughs') and external-entity attacks work. "
            "autocode expands no entities and wrote nothing; export the project again."
        ) from None
    except (defusedxml.EntitiesForbidden, defusedxml.ExternalReferenceForbidden, defusedxml.NotSupportedError) as exc:
        raise InputError(
            f"{where}: refused: the XML declares entities or external references ({type(exc).__name__}). "
            "autocode expands no entities and wrote nothing; export the project again."
        ) from None
    except ET.ParseError as exc:
        raise InputError(
            f"{where}: not well-formed XML ({exc}). The file is damaged or not a REFI-QDA export; "
            "export it again from your QDA program."
        ) from None


def local(tag: str) -> str:
    """The tag without its namespace: ``{urn:...}Code`` → ``Code``."""
    return tag.rsplit("}", 1)[-1]


def namespace(tag: str) -> str:
    return tag[1:].split("}", 1)[0] if tag.startswith("{") else ""


def children(element: ET.Element, name: str) -> list[ET.Element]:
    """Direct children called ``name`` in any namespace (exports differ in namespace versions)."""
    return [c for c in element if isinstance(c.tag, str) and local(c.tag) == name]


def child(element: ET.Element, name: str) -> ET.Element | None:
    found = children(element, name)
    return found[0] if found else None


def child_text(element: ET.Element, name: str) -> str:
    node = child(element, name)
    return (node.text or "") if node is not None else ""


def norm_guid(guid: str | None) -> str:
    """GUIDs compare case-insensitively and with or without braces."""
    return (guid or "").strip().strip("{}").lower()


def new_guid(*parts: str) -> str:
    """A deterministic GUID from ``parts`` (same input, same GUID: reproducible exports)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "autocode:" + "\x1f".join(parts)))


def _escape_text(s: str) -> str:
    # CR must be a character reference, or XML line-end normalisation turns CR LF into LF
    # on reading and inline texts (PlainTextContent) would lose their line breaks' bytes.
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _escape_attr(s: str) -> str:
    return (
        _escape_text(s).replace('"', "&quot;").replace("\n", "&#10;").replace("\t", "&#9;")
    )


def serialise(root: ET.Element) -> bytes:
    """Write an element tree as UTF-8 XML with the root's namespace as default namespace.

    ``ElementTree.tostring`` either invents ``ns0:`` prefixes or refuses unqualified
    attributes with a default namespace, and leaves CR unescaped; this writes what REFI-QDA
    programs expect (``<Project xmlns="urn:QDA-XML:project:1.0">``) and keeps CR.
    Elements of other namespaces and namespaced attributes (``xsi:schemaLocation``) get
    prefixes declared on the root.
    """
    default = namespace(root.tag)
    prefixes: dict[str, str] = {XSI_NS: "xsi"}
    used: dict[str, str] = {}

    def qname(tag: str, *, attribute: bool) -> str:
        ns = namespace(tag)
        name = local(tag)
        if not ns or (ns == default and not attribute):
            return name
        prefix = prefixes.setdefault(ns, f"ns{len(prefixes)}")
        used[ns] = prefix
        return f"{prefix}:{name}"

    parts: list[str] = []

    def write(el: ET.Element, depth: int) -> None:
        if not isinstance(el.tag, str):  # comments, processing instructions: not kept
            if el.tail:
                parts.append(_escape_text(el.tail))
            return
        parts.append("<" + qname(el.tag, attribute=False))
        if depth == 0:
            parts.append("\x00NS\x00")
        for key, value in el.attrib.items():
            parts.append(f' {qname(key, attribute=True)}="{_escape_attr(value)}"')
        kids = list(el)
        if not kids and not el.text:
            parts.append("/>")
        else:
            parts.append(">")
            if el.text:
                parts.append(_escape_text(el.text))
            for kid in kids:
                write(kid, depth + 1)
            parts.append(f"</{qname(el.tag, attribute=False)}>")
        if el.tail and depth > 0:
            parts.append(_escape_text(el.tail))

    write(root, 0)
    decl = f' xmlns="{_escape_attr(default)}"' if default else ""
    decl += "".join(f' xmlns:{p}="{_escape_attr(ns)}"' for ns, p in used.items())
    body = "".join(parts).replace("\x00NS\x00", decl, 1)
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n").encode("utf-8")
