"""The code system: codes with definitions, anchors and rules, nested in a hierarchy.

Column order of every label matrix comes from :attr:`Codebook.leaf_ids` (file order),
never from the data. Parent codes are not assigned directly: a segment has a parent
code when it has any of its children.

The YAML format (``configs/codebook.yaml`` is the default)::

    name: Motive und Hemmnisse
    codes:
      - id: MOT
        name: Internationalisierungsmotive
        definition: ...
        children:
          - id: MOT-MARKT
            name: Markterschließung
            definition: ...
            anchors: ["Wir wollten neue Kunden in Frankreich gewinnen."]
            rules: ["Nicht codieren, wenn ..."]
"""

from __future__ import annotations

import difflib
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.core.errors import CodebookError, CodebookPathError


@dataclass(frozen=True)
class Code:
    """One code. ``parent`` is ``""`` for a top-level code."""

    id: str
    name: str
    parent: str = ""
    definition: str = ""
    anchors: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    color: str = ""


@dataclass(frozen=True)
class Codebook:
    """A code system. ``codes`` lists parents before their children, in file order."""

    name: str
    codes: tuple[Code, ...]
    description: str = ""
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for code in self.codes:
            if code.id in seen:
                raise CodebookError(
                    f"{self.source or 'code system'}: code ID {code.id!r} occurs twice. "
                    "Each code needs a unique ID; rename one of them."
                )
            if code.parent and code.parent not in seen:
                raise CodebookError(
                    f"{self.source or 'code system'}: code {code.id!r} names parent "
                    f"{code.parent!r}, which is not defined before it."
                )
            seen.add(code.id)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.codes)

    @property
    def leaf_ids(self) -> tuple[str, ...]:
        """The codes that are assigned to segments: those without children."""
        parents = {c.parent for c in self.codes}
        return tuple(c.id for c in self.codes if c.id not in parents)

    @property
    def parent_ids(self) -> tuple[str, ...]:
        parents = {c.parent for c in self.codes}
        return tuple(c.id for c in self.codes if c.id in parents)

    def get(self, code_id: str) -> Code:
        for code in self.codes:
            if code.id == code_id:
                return code
        raise KeyError(code_id)

    def ancestors(self, code_id: str) -> tuple[str, ...]:
        """Parent, grandparent, ... of a code, nearest first."""
        by_id = {c.id: c for c in self.codes}
        out = []
        parent = by_id[code_id].parent
        while parent:
            out.append(parent)
            parent = by_id[parent].parent
        return tuple(out)

    def check_code(self, code_id: str, *, where: str = "") -> None:
        """Raise a :class:`CodebookError` naming the closest known code if unknown."""
        if code_id in self.ids:
            return
        close = difflib.get_close_matches(code_id, self.ids, n=1)
        hint = f" (closest: {close[0]!r})" if close else ""
        raise CodebookError(
            f"{where + ': ' if where else ''}unknown code {code_id!r}{hint}. "
            f"Known codes: {', '.join(self.leaf_ids)}. {self._where_to_add()}"
        )

    def _where_to_add(self) -> str:
        """What to do about an unknown code: edit the code system file, unless that file
        belongs to a trained model, which is bound to its code system."""
        if not self.source:
            return "Fix the code, or give a code system that holds it with --codebook."
        if (Path(self.source).parent / "model.json").is_file():
            return (
                f"Fix the code, or give a code system that holds it with --codebook FILE "
                f"({self.source} belongs to the model beside it, which was trained for exactly these "
                "codes: do not edit it; train a model for the new code system instead)."
            )
        return f"Fix the code or add it to {self.source}."

    @property
    def hash(self) -> str:
        """SHA-256 over IDs and hierarchy: changes when the column meaning changes."""
        canon = json.dumps([[c.id, c.parent] for c in self.codes], ensure_ascii=False)
        return hashlib.sha256(canon.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        def node(code: Code) -> dict:
            d: dict = {"id": code.id, "name": code.name}
            if code.definition:
                d["definition"] = code.definition
            if code.anchors:
                d["anchors"] = list(code.anchors)
            if code.rules:
                d["rules"] = list(code.rules)
            if code.color:
                d["color"] = code.color
            kids = [node(c) for c in self.codes if c.parent == code.id]
            if kids:
                d["children"] = kids
            return d

        out: dict = {"name": self.name}
        if self.description:
            out["description"] = self.description
        out["codes"] = [node(c) for c in self.codes if not c.parent]
        return out

    @classmethod
    def from_ids(cls, ids: list[str], *, name: str = "codes found in the hand codes") -> Codebook:
        """A flat code system from bare IDs (sorted), for training without ``--codebook``."""
        return cls(name=name, codes=tuple(Code(id=i, name=i) for i in sorted(set(ids))))


def _parse_nodes(nodes, parent: str, where: str, out: list[Code]) -> None:
    if not isinstance(nodes, list):
        raise CodebookError(
            f"{where}: expected a list of codes under 'codes'/'children', found "
            f"{type(nodes).__name__}. Each code is a mapping with at least 'id' and 'name'."
        )
    for i, node in enumerate(nodes):
        if not isinstance(node, dict) or "id" not in node:
            raise CodebookError(
                f"{where}: code #{i + 1} under {parent or 'the top level'} has no 'id'. "
                "Each code needs 'id' and 'name'."
            )
        code_id = str(node["id"]).strip()
        if not code_id:
            raise CodebookError(f"{where}: code #{i + 1} under {parent or 'the top level'} has an empty 'id'.")

        def texts(key: str) -> tuple[str, ...]:
            value = node.get(key) or []
            if isinstance(value, str):
                value = [value]
            return tuple(str(v).strip() for v in value)

        out.append(
            Code(
                id=code_id,
                name=str(node.get("name", code_id)).strip(),
                parent=parent,
                definition=str(node.get("definition", "") or "").strip(),
                anchors=texts("anchors"),
                rules=texts("rules"),
                color=str(node.get("color", "") or "").strip(),
            )
        )
        _parse_nodes(node.get("children") or [], code_id, where, out)


_FORMAT = (
    "expected YAML with 'name' and a 'codes' list, each code with 'id', 'name' and optional "
    "'definition', 'anchors', 'rules', 'children' (the codebook.yaml in every model folder "
    "is an example)"
)


def load_codebook(path: str | Path) -> Codebook:
    """Read a YAML code system (see the module docstring for the format)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise CodebookPathError(f"code system {path} does not exist. Pass an existing YAML file with --codebook.") from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{path}: not valid YAML ({exc}). Fix the file: {_FORMAT}.") from None
    if not isinstance(data, dict) or "codes" not in data:
        raise CodebookError(
            f"{path}: found {type(data).__name__ if not isinstance(data, dict) else 'no codes list'}; {_FORMAT}."
        )
    codes: list[Code] = []
    _parse_nodes(data["codes"], "", str(path), codes)
    if not codes:
        raise CodebookError(f"{path}: the code system has no codes. Add at least one under 'codes'.")
    return Codebook(
        name=str(data.get("name", path.stem)),
        codes=tuple(codes),
        description=str(data.get("description", "") or "").strip(),
        source=str(path),
    )


def codebook_from_dict(data: dict, *, source: str = "") -> Codebook:
    codes: list[Code] = []
    _parse_nodes(data.get("codes", []), "", source or "code system", codes)
    return Codebook(name=str(data.get("name", "")), codes=tuple(codes), description=str(data.get("description", "")), source=source)


def save_codebook(codebook: Codebook, path: str | Path) -> None:
    from pipeline.core.io import atomic_write_text

    atomic_write_text(path, yaml.safe_dump(codebook.to_dict(), allow_unicode=True, sort_keys=False, width=100))
