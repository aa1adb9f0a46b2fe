"""Tables in the docs rendered from committed benchmark records (pipeline.research.figures)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pipeline.research import figures

REPOSITORY = Path(__file__).resolve().parents[1]


def _scores(micro: float) -> dict:
    return {"micro_f1": micro, "macro_f1": micro - 0.01, "parent_micro_f1": micro + 0.1,
            "per_code_f1": {"A": micro, "B": micro}, "predicted": 10, "support": 12}


def _record(micro: float = 0.5) -> dict:
    """A register-transfer record of one configuration, as `autocode benchmark transfer` writes it."""
    return {
        "benchmark": "register transfer",
        "registers": {"interviews": {"documents": 2, "segments": 20, "coded_segments": 12},
                      "literature": {"documents": 3, "segments": 30, "coded_segments": 15}},
        "results": {"fast": {
            "cv": {"interviews": _scores(0.6), "literature": _scores(0.7)},
            "transfer": {"interviews→literature": _scores(micro), "literature→interviews": _scores(0.4)},
            "train_seconds": {"interviews": 1.25, "literature": 2.0},
            "segments_per_second": 123.4, "peak_memory_mib": 300.0,
        }},
        "command": "autocode benchmark transfer --config configs/fast.yaml --out results",
        "commit": "0123456789abcdef0123456789abcdef01234567",
        "uncommitted_changes": False,
        "created": "2026-12-07T16:00:00+00:00",
    }


def _repo(tmp_path: Path, doc: str, record: dict | None = None) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("# Tool\n\nNo tables here.\n", encoding="utf-8")
    (tmp_path / "docs" / "quality.md").write_text(doc, encoding="utf-8")
    if record is not None:
        (tmp_path / "results").mkdir()
        (tmp_path / "results" / "t.json").write_text(json.dumps(record), encoding="utf-8")
    return tmp_path


STALE = "Before.\n\n<!-- figures: results/t.json transfer -->\n| old | table |\n<!-- /figures -->\n\nAfter.\n"


def test_a_table_is_rendered_from_its_record_with_the_command_that_made_it():
    text = figures.render(_record(0.5), "transfer")
    rows = [line for line in text.splitlines() if line.startswith("| fast |")]
    assert rows[0].startswith("| fast | interviews→literature | 0.500 | 0.490 | 0.600 | 0.700 |")
    assert rows[1].startswith("| fast | literature→interviews | 0.400 |")
    assert "`autocode benchmark transfer --config configs/fast.yaml --out results`" in text
    assert "commit 0123456789" in text and "2026-12-07" in text


def test_the_brief_register_table_has_a_column_per_configuration():
    record = _record(0.5)
    record["results"]["fast"]["cv"]["both"] = _scores(0.61)
    record["results"]["default"] = {**record["results"]["fast"], "cv": {"both": _scores(0.64)}}
    lines = figures.render(record, "registers").splitlines()
    assert lines[0] == "| | fast | default |"
    assert lines[2] == "| micro-F1 / macro-F1, cross-validated on both registers | 0.610 / 0.600 | 0.640 / 0.630 |"
    assert lines[3] == "| parent codes micro-F1, cross-validated on both registers | 0.710 | 0.740 |"
    assert lines[4] == "| trained on the interviews, coding the literature (micro-F1) | 0.500 | 0.500 |"
    assert lines[5] == "| trained on the literature, coding the interviews (micro-F1) | 0.400 | 0.400 |"


def test_check_lists_a_table_that_differs_from_its_record_and_write_mends_it(tmp_path):
    root = _repo(tmp_path, STALE, _record(0.5))
    assert figures.main(["--check", "--root", str(root)]) == 1
    assert figures.check(root) == [
        "docs/quality.md:3: the transfer table differs from results/t.json; run python -m pipeline.research.figures --write"
    ]
    assert figures.main(["--write", "--root", str(root)]) == 0
    text = (root / "docs" / "quality.md").read_text(encoding="utf-8")
    assert text.startswith("Before.\n\n<!-- figures: results/t.json transfer -->\n| configuration |")
    assert text.endswith("<!-- /figures -->\n\nAfter.\n")  # what lies outside the markers stays
    assert "| old | table |" not in text and "| 0.500 |" in text
    assert figures.check(root) == []
    # a new figure in the record makes the table stale again
    (root / "results" / "t.json").write_text(json.dumps(_record(0.55)), encoding="utf-8")
    assert len(figures.check(root)) == 1


def test_a_table_that_cites_a_record_not_in_the_repository_fails_the_check(tmp_path):
    root = _repo(tmp_path, STALE)
    problems = figures.check(root)
    assert len(problems) == 1 and "results/t.json, which is not in the repository" in problems[0]
    assert figures.main(["--write", "--root", str(root)]) == 1
    assert (root / "docs" / "quality.md").read_text(encoding="utf-8") == STALE  # nothing invented


def test_an_unknown_table_or_an_unclosed_marker_fails_the_check(tmp_path):
    doc = "<!-- figures: results/t.json nosuch -->\n|x|\n<!-- /figures -->\n\n<!-- figures: results/t.json transfer -->\n| open |\n"
    root = _repo(tmp_path, doc, _record())
    problems = figures.check(root)
    assert len(problems) == 2
    assert "unknown table 'nosuch'" in problems[0] and problems[0].startswith("docs/quality.md:1:")
    assert problems[1].startswith("docs/quality.md:5:") and "<!-- /figures -->" in problems[1]


def test_every_table_in_the_docs_is_the_one_its_committed_record_renders():
    """What CI runs: a figure in README.md or docs/ that differs from its record, or a
    table of figures that cites none, fails."""
    assert figures.stale(REPOSITORY) == []
    done = subprocess.run([sys.executable, "-m", "pipeline.research.figures", "--check"], cwd=REPOSITORY,
                          capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


# --- tables of figures that no block renders cite their record -------------------------

CITED = """Figures of one run.

<!-- record: benchmarks/results/m.json -->
| model | micro-F1 | difference | share | time |
|---|---:|---:|---:|---:|
| A | 0.570 | −0.095 | 57.1 % | 12.3 s |
| B | 0.531‡ | +0.004 | 0.5 % | 1,234.5 s |

‡ seen on the test part while choosing.
"""

RECORD = {"results": {"A": {"micro_f1": 0.5704, "diff": -0.0951, "share": 0.5714, "seconds": 12.31},
                      "B": {"micro_f1": 0.53125, "diff": 0.0041, "share": 0.005, "seconds": 1234.46}},
          "seeds": 1, "ok": True}


def _docs(tmp_path: Path, doc: str, record: dict | None = None) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(doc, encoding="utf-8")
    if record is not None:
        (tmp_path / "benchmarks" / "results").mkdir(parents=True)
        (tmp_path / "benchmarks" / "results" / "m.json").write_text(json.dumps(record), encoding="utf-8")
    return tmp_path


def test_a_table_of_figures_without_a_record_fails_the_check(tmp_path):
    root = _docs(tmp_path, CITED.replace("<!-- record: benchmarks/results/m.json -->\n", ""), RECORD)
    assert figures.main(["--check", "--root", str(root)]) == 1
    problems = figures.check(root)
    assert len(problems) == 1
    assert problems[0].startswith("docs/page.md:3: the table (model …) shows measured figures but cites no record")


def test_a_table_whose_figures_are_in_its_record_passes(tmp_path):
    root = _docs(tmp_path, CITED, RECORD)
    assert figures.check(root) == []
    assert figures.main(["--check", "--root", str(root)]) == 0


def test_a_figure_not_in_the_record_fails_with_its_row(tmp_path):
    record = json.loads(json.dumps(RECORD))
    record["results"]["B"]["micro_f1"] = 0.5326  # shows as 0.533, not the 0.531 of the table
    record["results"]["A"]["diff"] = 0.0951  # the sign differs
    root = _docs(tmp_path, CITED, record)
    assert figures.check(root) == [
        "docs/page.md:6: -0.095 not in benchmarks/results/m.json at the precision shown; "
        "render the figure from the record or cite the record that holds it",
        "docs/page.md:7: 0.531 not in benchmarks/results/m.json at the precision shown; "
        "render the figure from the record or cite the record that holds it",
    ]


def test_a_cited_record_that_is_missing_fails(tmp_path):
    root = _docs(tmp_path, CITED)
    problems = figures.check(root)
    assert len(problems) == 1
    assert problems[0].startswith("docs/page.md:3: cites benchmarks/results/m.json, which is not a committed file")


def test_tables_without_decimals_code_settings_and_fenced_output_need_no_record(tmp_path):
    doc = ("| option | default |\n|---|---|\n| `--c` | `0.5` |\n| `--n` | 1,000 |\n\n"
           "```\n| fold | F1 |\n| 1 | 0.512 |\n```\n")
    root = _docs(tmp_path, doc)
    assert figures.check(root) == []


def test_a_figure_marked_as_seen_on_a_test_part_needs_the_legend(tmp_path):
    root = _docs(tmp_path, CITED.replace("‡ seen on the test part while choosing.\n", ""), RECORD)
    problems = figures.check(root)
    assert len(problems) == 1
    assert problems[0].startswith("docs/page.md:7: a figure is marked ‡ (seen on a test part while choosing)")


def test_every_table_of_figures_in_the_docs_cites_a_record_that_holds_its_figures():
    offenders = [p for d in figures.documents(REPOSITORY) for p in figures.uncited(d, REPOSITORY)]
    assert offenders == []


def test_the_records_readme_names_every_committed_record():
    """benchmarks/results/README.md is the list of records and the pages that cite them."""
    results = REPOSITORY / "benchmarks" / "results"
    listing = (results / "README.md").read_text(encoding="utf-8")
    records = [p.relative_to(results).as_posix() for p in sorted(results.rglob("*.json"))]
    assert records, "no record in benchmarks/results"
    assert [r for r in records if f"`{r}`" not in listing] == []
