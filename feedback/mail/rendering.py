"""Every email is a pair of templates, `emails/NAME.txt` and `emails/NAME.html`, rendered together."""

from __future__ import annotations

from typing import Any

import css_inline
from flask import render_template

_inliner = css_inline.CSSInliner(keep_style_tags=True)


def render_email(template: str, **context: Any) -> tuple[str, str]:
    """Returns (text, html); the HTML has its stylesheet inlined, as mail clients ignore most <style> rules."""
    text = render_template(f"emails/{template}.txt", **context)
    html = render_template(f"emails/{template}.html", **context)
    return text.strip() + "\n", _inliner.inline(html)
