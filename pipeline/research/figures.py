"""Tables in the docs rendered from committed benchmark records, so that a figure in
README.md or docs/*.md is the figure of a run that can be repeated.

A table is marked in the Markdown source by the record it comes from and the kind of
table::

    <!-- figures: benchmarks/results/transfer-default-fast/transfer.json transfer -->
    (rendered here)
    <!-- /figures -->

The record is the JSON a benchmark command writes (:func:`pipeline.core.records.write_record`,
path relative to the repository root); the kind names one of :data:`TABLES`. Below each
table a line names the command and commit that made the record.

``python -m pipeline.research.figures --check`` lists every block whose text differs from
what its record renders (exit status 1), ``--write`` rewrites those blocks in place.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.io import atomic_write_text

BLOCK = re.compile(
    r"<!-- figures: (?P<record>\S+) (?P<table>\S+) -->\n(?P<body>.*?)<!-- /figures -->", re.DOTALL,
)
OPENING = re.compile(r"<!-- figures:")


def first_table(markdown: str) -> str:
    """The first Markdown table (its consecutive lines starting with ``|``) of ``markdown``."""
    lines = markdown.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("|")), None)
    if start is None:
        raise ValueError("the benchmark's Markdown holds no table")
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    return "\n".join(lines[start:end])


def _transfer(record: dict) -> str:
    from pipeline.research.benchmark_transfer import markdown_table

    return first_table(markdown_table(record))


def _manifesto(record: dict) -> str:
    from pipeline.research.benchmark import markdown_table

    return first_table(markdown_table(record))


def _germeval(record: dict) -> str:
    from pipeline.research.benchmark_germeval import markdown_table

    return first_table(markdown_table(record))


def _registers(record: dict) -> str:
    """A register-transfer record in brief: a column per configuration (as the command
    names it), a row per figure."""
    results = record["results"]
    names = list(results)

    def cells(pick):
        return " | ".join(pick(results[n]) for n in names)

    def both(r):
        return r["cv"]["both"]

    rows = [
        ("micro-F1 / macro-F1, cross-validated on both registers",
         lambda r: f"{both(r)['micro_f1']:.3f} / {both(r)['macro_f1']:.3f}"),
        ("parent codes micro-F1, cross-validated on both registers", lambda r: f"{both(r)['parent_micro_f1']:.3f}"),
    ]
    for direction in results[names[0]]["transfer"]:
        src, dst = direction.split("→")
        rows.append((f"trained on the {src}, coding the {dst} (micro-F1)",
                     lambda r, d=direction: f"{r['transfer'][d]['micro_f1']:.3f}"))
    rows += [
        ("codable segments per second, new text (embedding and classification)", lambda r: f"{r['segments_per_second']:.0f}"),
        ("peak memory of the whole measurement (MiB)", lambda r: f"{r['peak_memory_mib']:.0f}"),
    ]
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    lines += [f"| {label} | {cells(pick)} |" for label, pick in rows]
    return "\n".join(lines)


def _variants(record: dict) -> str:
    from pipeline.research.variants import nested_table

    return nested_table(record)


def _variants_points(record: dict) -> str:
    from pipeline.research.variants import points_table

    return points_table(record)


def _variants_transfer(record: dict) -> str:
    from pipeline.research.variants import transfer_table

    return transfer_table(record)


def _review_simulation(record: dict) -> str:
    """``autocode benchmark review``: one row per order and block of decisions."""
    lines = [
        "| order | decisions | proposals accepted unchanged | code changes per segment | without proposals: unchanged "
        "| without proposals: changes |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for run in record["runs"]:
        for b in run["blocks"]:
            lines.append(f"| {run['queue']} | {b['decisions']} | {b['accepted_unchanged']:.1%} | {b['changes']:.2f} | "
                         f"{b['unchanged_without']:.1%} | {b['changes_without']:.2f} |")
    return "\n".join(lines)


def _review_speed(record: dict) -> str:
    """``autocode benchmark review-speed``: start-up and answer times, median and p95."""
    p = record["project"]
    rows = [
        (f"project: {p['documents']} transcripts, {p['segments']:,} segments ({p['codable_segments']:,} codable)", "", ""),
        ("start-up until the address is printed (second start)", f"{record['startup_warm_s']:.2f} s", ""),
        ("coding the whole project with the shipped model", f"{p['coded_s']:.1f} s", ""),
    ]
    for queue in ("document", "suggest"):
        h = record[f"http_{queue}"]
        rows.append((f"HTTP, queue {queue}: a decision answered with the next segment",
                     f"{h['decision_and_next']['median_ms']:.1f} ms", f"{h['decision_and_next']['p95_ms']:.1f} ms"))
        rows.append((f"HTTP, queue {queue}: `GET /api/next`", f"{h['next']['median_ms']:.1f} ms", f"{h['next']['p95_ms']:.1f} ms"))
    b = record.get("browser_document")
    if b:
        rows.append(("Chromium: a decision until the next segment is shown, measured in the page",
                     f"{b['in_page']['median_ms']:.1f} ms", f"{b['in_page']['p95_ms']:.1f} ms"))
        rows.append(("Chromium: Enter until the next segment is found, seen from Playwright (its round trips included)",
                     f"{b['from_outside']['median_ms']:.1f} ms", f"{b['from_outside']['p95_ms']:.1f} ms"))
    return "\n".join(["| what | median | p95 |", "|---|---:|---:|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows])


#: Kind of table -> the function that renders it from a record: each benchmark's own
#: summary table, as its command prints it, and ``registers``, the register-transfer
#: figures in brief.
TABLES: dict[str, Callable[[dict], str]] = {
    "transfer": _transfer, "registers": _registers, "manifesto": _manifesto, "germeval": _germeval,
    "review-simulation": _review_simulation, "review-speed": _review_speed,
    "variants": _variants, "variants-points": _variants_points, "variants-transfer": _variants_transfer,
}


def provenance(record: dict) -> str:
    """One line: the command and commit that made ``record``."""
    commit = record.get("commit")
    made = f"commit {commit[:10]}" if commit else "no recorded commit"
    if record.get("uncommitted_changes"):
        made += " with uncommitted changes"
    when = str(record.get("created", ""))[:10]
    command = record.get("command", "")
    return f"*Made by `{command}` at {made}" + (f", {when}" if when else "") + ".*"


def render(record: dict, table: str) -> str:
    """The text of a block: the table of kind ``table`` rendered from ``record``, and the
    line that says what made it."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; known: {', '.join(TABLES)}")
    return f"{TABLES[table](record)}\n\n{provenance(record)}\n"


@dataclass(frozen=True)
class Block:
    """One marked block of a document: where it is, what it cites, what it should say
    (``expected``, or ``problem`` where it cannot be rendered)."""

    document: Path
    start: int
    line: int
    record: str
    table: str
    body: str
    expected: str | None
    problem: str = ""

    @property
    def stale(self) -> bool:
        return self.problem != "" or self.body != self.expected

    def describe(self, root: Path) -> str:
        where = f"{self.document.relative_to(root)}:{self.line}"
        if self.problem:
            return f"{where}: {self.problem}"
        return (f"{where}: the {self.table} table differs from {self.record}; "
                "run python -m pipeline.research.figures --write")


def documents(root: Path) -> list[Path]:
    """The documents whose tables are rendered: README.md and docs/*.md."""
    found = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    return [p for p in found if p.is_file()]


def blocks(document: Path, root: Path) -> list[Block]:
    """The marked blocks of ``document``, each with what its record renders. An opening
    marker without its closing one is a block with a problem."""
    text = document.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        path = root / m["record"]
        expected, problem = None, ""
        try:
            expected = render(json.loads(path.read_text(encoding="utf-8")), m["table"])
        except FileNotFoundError:
            problem = (f"cites {m['record']}, which is not in the repository; "
                       "commit the record the table comes from")
        except (ValueError, KeyError, TypeError) as e:
            problem = f"the {m['table']} table cannot be rendered from {m['record']}: {e}"
        out.append(Block(document, m.start(), line, m["record"], m["table"], m["body"], expected, problem))
    closed = {m.start() for m in BLOCK.finditer(text)}
    for m in OPENING.finditer(text):
        if m.start() not in closed:
            line = text.count("\n", 0, m.start()) + 1
            out.append(Block(document, m.start(), line, "", "", "", None,
                             "a figures marker that is not '<!-- figures: RECORD TABLE -->', "
                             "its lines, '<!-- /figures -->'"))
    return sorted(out, key=lambda b: b.line)


def check(root: Path) -> list[str]:
    """Every block of the documents under ``root`` that differs from its record, in words."""
    return [b.describe(root) for d in documents(root) for b in blocks(d, root) if b.stale]


def write(root: Path) -> tuple[list[Path], list[str]]:
    """Rewrite every stale block from its record; returns the documents changed and the
    blocks that could not be rendered (left as they are)."""
    changed, problems = [], []
    for document in documents(root):
        found = blocks(document, root)
        problems += [b.describe(root) for b in found if b.problem]
        if not any(b.stale and not b.problem for b in found):
            continue
        at = {b.start: b for b in found}

        def fill(m, at=at):
            b = at[m.start()]
            if b.problem:
                return m.group(0)
            return f"<!-- figures: {b.record} {b.table} -->\n{b.expected}<!-- /figures -->"

        text = document.read_text(encoding="utf-8")
        atomic_write_text(document, BLOCK.sub(fill, text))
        changed.append(document)
    return changed, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.research.figures",
                                     description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--check", action="store_true",
                        help="list every table that differs from its record (exit 1)")
    action.add_argument("--write", action="store_true", help="render every table from its record")
    parser.add_argument("--root", type=Path, default=Path("."),
                        help="the repository (default: the current folder)")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.check:
        stale = check(root)
        for line in stale:
            print(line, file=sys.stderr)
        return 1 if stale else 0
    changed, problems = write(root)
    for path in changed:
        print(f"rendered the tables of {path.relative_to(root)}", file=sys.stderr)
    for line in problems:
        print(line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
