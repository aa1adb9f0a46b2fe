"""Templates and text tables of the report pages, as package data.

One Jinja2 environment with autoescaping renders every page: text from transcripts,
code systems and file names cannot break the markup, and the pages share one skeleton
(``base.html.j2``) instead of hand-built strings. Each language has one text table
(``texts_de.yaml``, ``texts_en.yaml``) with the same keys; an empty section of the
English table means that the key is its own English text (library reasons, item names).
"""

from __future__ import annotations

import math
from functools import lru_cache
from importlib.resources import files

import jinja2
import yaml

from pipeline.core.errors import InputError

LANGUAGES = ("de", "en")
_TEMPLATES = files("pipeline.reports") / "templates"


def resource(name: str) -> str:
    """The text of one file in ``pipeline/reports/templates``."""
    return (_TEMPLATES / name).read_text(encoding="utf-8")


@lru_cache(maxsize=None)
def texts(lang: str) -> dict:
    """The text table of ``lang`` (``de`` or ``en``), one dict per section."""
    if lang not in LANGUAGES:
        raise InputError(f"--lang must be one of {', '.join(LANGUAGES)}, found {lang!r}.")
    return yaml.safe_load(resource(f"texts_{lang}.yaml"))


def word(table: dict, key: str) -> str:
    """``key`` looked up in a section of a text table, the key itself where missing."""
    return table.get(key, key) if table else key


def number(x: float | None, lang: str, digits: int = 3) -> str:
    """``x`` with ``digits`` decimals, a decimal comma in German; ``""`` for None or NaN."""
    if x is None or not math.isfinite(x):
        return ""
    s = f"{x:.{digits}f}"
    return s.replace(".", ",") if lang == "de" else s


def share(x: float, lang: str) -> str:
    """A share as a whole percentage, e.g. ``50%`` (German ``50 %``)."""
    return f"{x:.0%}".replace("%", " %") if lang == "de" else f"{x:.0%}"


@lru_cache(maxsize=None)
def environment() -> jinja2.Environment:
    """The Jinja2 environment: templates from the package, HTML autoescaped."""
    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(lambda name: resource(name)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals["resource"] = resource
    return env


def render(template: str, **context) -> str:
    """Render one template of the package with ``context``."""
    return environment().get_template(template).render(**context)
