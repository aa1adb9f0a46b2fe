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

A table that no kind renders cites its record on the line right above it (one or more
paths, separated by spaces)::

    <!-- record: benchmarks/results/multiple-coders.json -->
    | trained on | vs A: micro-F1 |
    ...

``python -m pipeline.research.figures --check`` lists (exit status 1) every block whose
text differs from what its record renders, and every table of measured figures that cites
no record or shows a figure its record does not hold; ``--write`` rewrites the blocks in
place (a cited table is the author's to mend).

What counts as a measured figure: a decimal number in a table cell (``0.652``, ``12.3 s``,
``−0.095``, ``45.2 %``), outside inline code. A table with no such number (options,
formats, counts) is not a table of measurements and needs no record; a setting written
with a decimal (``C=0.5``) goes in inline code. Tables inside a figures block are checked
by their block, tables in fenced code (a command's output shown as an example) are not
checked. A cited table passes when every figure in it equals a number of the record at
the precision shown (``0.571`` for 0.5714; ``57.1 %`` also for 0.5714), its sign included,
and the record is tracked by git (where the documents are in a clone). Whole numbers are
not told from counts and row labels, so they are not checked: a table of times in whole
seconds passes without a record, and should cite one all the same.

A figure seen on a test part while a procedure or setting was being chosen is marked
with ``‡`` right after it (``0.652‡``); a page that marks one must explain the mark on a
line of its own starting with ``‡ `` (e.g. "‡ seen on the test part while choosing: not an
unbiased estimate").
"""

from __future__ import annotations

import argparse
import bisect
import json
import re
import subprocess
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


def _main_command(record: dict) -> str:
    """``benchmarks/main_command_bench.py``: the README's main command, cold and warm."""
    lines = ["| the main command | runs | wall time, min / median | peak memory, median |", "|---|---:|---:|---:|"]
    for label, what in (("cold", "cold: empty embedding cache"), ("warm", "warm: the same command again")):
        r = record[label]
        lines.append(f"| {what} | {r['runs']} | {r['wall_s']['min']:.1f} s / {r['wall_s']['median']:.1f} s | {r['peak_mib']['median']:.0f} MiB |")
    m = record["machine"]
    installed = "installed package" if record["installed"].get("editable") is False else "editable checkout"
    return "\n".join(lines) + (f"\n\n{record['files']} files, {record['segments']} segments; {installed}; {m['cpus']} cores, "
                               f"load average {m['load_average_start'][0]:.1f} at the start.")


#: Kind of table -> the function that renders it from a record: each benchmark's own
#: summary table, as its command prints it, and ``registers``, the register-transfer
#: figures in brief.
TABLES: dict[str, Callable[[dict], str]] = {
    "transfer": _transfer, "registers": _registers, "manifesto": _manifesto, "germeval": _germeval,
    "review-simulation": _review_simulation, "review-speed": _review_speed,
    "main-command": _main_command, "variants": _variants, "variants-points": _variants_points, "variants-transfer": _variants_transfer,
}


def provenance(record: dict) -> str:
    """One line: the command and commit that made ``record``."""
    commit = record.get("commit") or (record.get("checkout") or {}).get("commit")  # a script run from an installed package
    made = f"commit {commit[:10]}" if commit else "no recorded commit"
    if record.get("uncommitted_changes") or (record.get("checkout") or {}).get("uncommitted_changes") or str(commit).endswith("+dirty"):  # older records mark it in the commit
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


def stale(root: Path) -> list[str]:
    """Every block of the documents under ``root`` that differs from its record, in words."""
    return [b.describe(root) for d in documents(root) for b in blocks(d, root) if b.stale]


CITATION = re.compile(r"<!-- record: (?P<paths>[^>]*?) -->")
#: A decimal number with its sign: not part of a version (2.13.0) or a word (e5.2).
FIGURE = re.compile(r"(?<![\w.,])(?P<sign>[-+−]?)(?P<number>\d{1,3}(?:,\d{3})+\.\d+|\d+\.\d+)"
                    r"(?![\w.]|,\d)(?P<percent>\s?%)?")
CODE_SPAN = re.compile(r"`[^`]*`")
#: The mark of a figure seen on a test part while choosing, and its explanation's opening.
SEEN = "‡"
LEGEND = re.compile(rf"^{SEEN}\s", re.MULTILINE)


def measured(line: str) -> list[tuple[float, int, bool]]:
    """The measured figures of a table line: (value, decimals shown, shown as percent)."""
    out = []
    for m in FIGURE.finditer(CODE_SPAN.sub("", line)):
        number = m["number"].replace(",", "")
        value = -float(number) if m["sign"] in ("-", "−") else float(number)
        out.append((value, len(number.split(".")[1]), bool(m["percent"])))
    return out


def record_numbers(value) -> list[float]:
    """Every number in a JSON value, sorted (booleans are not numbers here)."""
    found: list[float] = []

    def walk(v):
        if isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            found.append(float(v))

    walk(value)
    return sorted(found)


def holds(numbers: list[float], value: float, decimals: int, percent: bool) -> bool:
    """Whether a number in ``numbers`` (sorted) shows as ``value`` at ``decimals`` places
    (or, for a percentage, a fraction that does)."""
    half = 0.5 * 10 ** -decimals + 1e-9
    for wanted, scale in ((value, 1.0), (value / 100, 100.0)) if percent else ((value, 1.0),):
        lo = bisect.bisect_left(numbers, wanted - half / scale)
        if lo < len(numbers) and numbers[lo] <= wanted + half / scale:
            return True
    return False


def tables(text: str) -> list[tuple[int, list[str]]]:
    """The Markdown tables of ``text`` outside figures blocks and fenced code: (index of
    the first line, the lines)."""
    inside = [(m.start(), m.end()) for m in BLOCK.finditer(text)]
    lines, out, fenced, i, offset = text.splitlines(), [], False, 0, 0
    starts = []
    for line in lines:
        starts.append(offset)
        offset += len(line) + 1
    while i < len(lines):
        if lines[i].lstrip().startswith(("```", "~~~")):
            fenced = not fenced
        if fenced or not lines[i].startswith("|") or any(a <= starts[i] < b for a, b in inside):
            i += 1
            continue
        end = i
        while end < len(lines) and lines[end].startswith("|"):
            end += 1
        out.append((i, lines[i:end]))
        i = end
    return out


def _committed(root: Path, path: str) -> bool:
    """Whether ``path`` is tracked by git in ``root`` (True where ``root`` is no repository:
    a folder of documents checked outside a clone)."""
    if not (root / ".git").exists():
        return True
    try:
        done = subprocess.run(["git", "-C", str(root), "ls-files", "--error-unmatch", "--", path],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return True
    return done.returncode == 0


def uncited(document: Path, root: Path) -> list[str]:
    """Every table of measured figures in ``document`` that cites no committed record or
    shows a figure its record does not hold, and a ``‡`` mark without its explanation."""
    text = document.read_text(encoding="utf-8")
    lines = text.splitlines()
    where = document.relative_to(root)
    out = []
    for first, rows in tables(text):
        figures = [f for row in rows for f in measured(row)]
        if not figures:
            continue
        shown = ", ".join(row.split("|")[1].strip() or "…" for row in rows[:1])
        above = CITATION.fullmatch(lines[first - 1].strip()) if first > 0 else None
        if above is None:
            out.append(f"{where}:{first + 1}: the table ({shown} …) shows measured figures but cites no record; "
                       "name the committed record of the run that made them on the line above it "
                       "('<!-- record: benchmarks/results/NAME.json -->') or render it in a figures block")
            continue
        numbers: list[float] = []
        for path in above["paths"].split():
            file = root / path
            if not file.is_file() or not _committed(root, path):
                out.append(f"{where}:{first}: cites {path}, which is not a committed file; "
                           "commit the record the table comes from")
                numbers = []
                break
            try:
                numbers += record_numbers(json.loads(file.read_text(encoding="utf-8")))
            except ValueError as e:
                out.append(f"{where}:{first}: cites {path}, which is not JSON ({e})")
                numbers = []
                break
        else:
            numbers.sort()
            for n, row in enumerate(rows):
                missing = [f"{v:.{d}f}" + ("%" if p else "") for v, d, p in measured(row) if not holds(numbers, v, d, p)]
                if missing:
                    out.append(f"{where}:{first + n + 1}: {', '.join(missing)} not in {above['paths']} at the "
                               "precision shown; render the figure from the record or cite the record that holds it")
    if SEEN in text and not LEGEND.search(text):
        line = text.count("\n", 0, text.index(SEEN)) + 1
        out.append(f"{where}:{line}: a figure is marked {SEEN} (seen on a test part while choosing) but the page "
                   f"does not say so; add a line starting with '{SEEN} ' that explains the mark")
    return out


def check(root: Path) -> list[str]:
    """Every block of the documents under ``root`` that differs from its record, and every
    table of figures that cites no record or differs from it, in words."""
    return stale(root) + [p for d in documents(root) for p in uncited(d, root)]


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
                        help="list every table that differs from its record or cites none (exit 1)")
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
