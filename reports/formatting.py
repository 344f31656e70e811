"""Text formatting shared by the outputs: numbers to two significant digits, HTML escaping, Markdown
escaping (every name and message from records goes through `esc` in HTML, `md` in Markdown)."""
from __future__ import annotations

import math
import re
from html import escape


def fmt(x: float | None) -> str:
    """`x` to two significant digits; "inf" for infinity, "-" for None."""
    if x is None:
        return "-"
    if isinstance(x, float) and math.isinf(x):
        return "inf"
    return f"{x:.2g}"


def esc(x) -> str:
    """`x` as HTML text, quotes escaped too (safe inside attributes)."""
    return escape(str(x), quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]#|~])")


def md(x) -> str:
    r"""`x` as literal Markdown text on one line, safe in a table cell and in a CI job summary (which
    renders HTML): `&`, `<`, `>` as entities, Markdown's punctuation backslash-escaped (`|` cannot end a
    cell, `#` cannot start a heading, `[..](..)` makes no link), line breaks as spaces.

    >>> print(md('relu<script>|x\n# h'))
    relu&lt;script&gt;\|x \# h
    """
    text = re.sub(r"[\r\n\u2028\u2029]+", " ", str(x))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def fence(code: str) -> str:
    """`code` in a fenced Markdown code block whose fence is longer than any run of backticks inside it
    (so the snippet cannot close it early); nothing inside a fence is rendered as HTML.

    >>> print(fence("x = '```'"))
    ````python
    x = '```'
    ````
    """
    longest = max((len(m) for m in re.findall(r"`+", code)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}python\n{code}\n{ticks}"
