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
    """What CI runs: a figure in README.md or docs/ that differs from its record fails."""
    done = subprocess.run([sys.executable, "-m", "pipeline.research.figures", "--check"], cwd=REPOSITORY,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
