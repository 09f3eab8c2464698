"""The pages carry no code or style the Content-Security-Policy refuses: no inline
<script> (a type="application/json" data block is not executed and is allowed), no on*
handler attribute, no style="" attribute, no htmx hx-on / js: evaluation, in any template
and in no HTML built in Python."""

from __future__ import annotations

import re
from pathlib import Path

import salesops

ROOT = Path(salesops.__file__).resolve().parent
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
HANDLER = re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE)
STYLE_ATTR = re.compile(r"""\sstyle\s*=\s*["'{]""", re.IGNORECASE)
STYLE_ELEMENT = re.compile(r"<style\b", re.IGNORECASE)
HTMX_EVAL = re.compile(r"""\shx-on\b|\shx-on:|\shx-vars\s*=|\shx-vals\s*=\s*["']\s*js:""")


def _templates() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.html") if "static" not in p.parts)


def _findings(text: str) -> list[str]:
    found = []
    for match in SCRIPT.finditer(text):
        attrs = match.group(1)
        if re.search(r"""type\s*=\s*["']application/json["']""", attrs):
            continue
        if not re.search(r"\ssrc\s*=", attrs):
            found.append(f"inline script {match.group(0)}")
    found += [f"handler attribute {m.group(0).strip()}" for m in HANDLER.finditer(text)]
    found += [f"style attribute {m.group(0).strip()}" for m in STYLE_ATTR.finditer(text)]
    found += [f"style element {m.group(0)}" for m in STYLE_ELEMENT.finditer(text)]
    found += [f"htmx evaluation {m.group(0).strip()}" for m in HTMX_EVAL.finditer(text)]
    return found


def test_the_checker_finds_each_kind() -> None:
    bad = (
        '<script>alert(1)</script><button onclick="x()"></button><div style="width:1px">'
        "<style>p{}</style><a hx-on:click=\"x()\"></a><div hx-vals='js:{a: 1}'></div>"
    )
    assert len(_findings(bad)) == 6
    ok = (
        '<script src="/static/a.js"></script><script type="application/json" id="d">{}</script>'
        '<div data-onclick="x" class="so-w-3" data-style="y"></div>'
    )
    assert _findings(ok) == []


def test_no_template_has_inline_code_or_style() -> None:
    templates = _templates()
    assert len(templates) > 50  # every template of every module, not an empty walk
    problems = {
        str(p.relative_to(ROOT)): found for p in templates if (found := _findings(p.read_text()))
    }
    assert problems == {}


def test_no_python_builds_html_with_inline_code_or_style() -> None:
    sources = sorted(p for p in ROOT.rglob("*.py") if "tests" not in p.parts)
    assert len(sources) > 50
    problems = {}
    for p in sources:
        text = p.read_text()
        found = [f for f in _findings(text) if not f.startswith("htmx")]
        # A widget's attrs={"style": ...} or {"onclick": ...} renders the same attributes.
        found += re.findall(r"""["'](?:style|on[a-z]+)["']\s*:""", text)
        if found:
            problems[str(p.relative_to(ROOT))] = found
    assert problems == {}
