"""Writes the reference tables of docs/ from the code that declares them, so the docs cannot drift from it.

The settings table comes from `feedback.config.SETTINGS`, the periodic jobs table from the jobs registry, the
states table from `feedback.postmortem.models`. Each
table sits in its page between `<!-- generated: NAME -->` and `<!-- end generated: NAME -->`; `make docs` runs this
script before building, and tests/test_docs.py fails when a committed page differs from what it would write.
"""

from __future__ import annotations

import re
import sys
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from feedback.config import SETTINGS  # noqa: E402

#: Which page holds which table.
PAGES = {
    "settings": ROOT / "docs" / "settings.md",
    "jobs": ROOT / "docs" / "operations.md",
    "states": ROOT / "docs" / "api.md",
}


def settings_table() -> str:
    """Every environment variable: its default, what it means, and whether Admin → Settings overrides it."""
    lines = ["| Setting | Default | Admin can override | Meaning |", "|---|---|---|---|"]
    for setting in SETTINGS:
        admin = "yes" if setting.admin_overridable else "no"
        doc = setting.doc.replace("|", "\\|")
        lines.append(f"| `{setting.name}` | {setting.default_in_docs} | {admin} | {doc} |")
    return "\n".join(lines)


def every(interval: timedelta) -> str:
    """5 seconds, minute, 15 minutes, hour: how the jobs table says an interval."""
    seconds = int(interval.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds % size == 0:
            count = seconds // size
            return unit if count == 1 else f"{count} {unit}s"
    raise AssertionError(interval)  # pragma: no cover: whole seconds always divide


def jobs_table() -> str:
    """Every registered periodic job, in the order the worker runs them, with the first line of its docstring."""
    from feedback import register_jobs
    from feedback.jobs.registry import registered

    register_jobs(None)  # imports each feature's jobs module, which registers its jobs; needs no app
    lines = ["| Job | Every | What it does |", "|---|---|---|"]
    for job in registered():
        lines.append(f"| `{job.name}` | {every(job.every)} | {job.description} |")
    return "\n".join(lines)


def states_table() -> str:
    """The API's state values beside the words the pages use for them."""
    from feedback.postmortem.models import STATE_LABELS, STATES

    lines = ["| API `state` | On the pages |", "|---|---|"]
    lines += [f"| `{state}` | {STATE_LABELS[state]} |" for state in STATES]
    return "\n".join(lines)


TABLES = {"settings": settings_table, "jobs": jobs_table, "states": states_table}


def render(text: str, name: str) -> str:
    """`text` with the table `name` between its markers written afresh."""
    pattern = re.compile(rf"(<!-- generated: {name} -->\n)(?:.*?\n)?(<!-- end generated: {name} -->)", re.DOTALL)
    if not pattern.search(text):
        raise SystemExit(f"{PAGES[name]} has no <!-- generated: {name} --> … <!-- end generated: {name} --> markers")
    table = TABLES[name]()
    return pattern.sub(lambda match: match.group(1) + table + "\n" + match.group(2), text)


def main(check: bool = False) -> int:
    """Writes each table into its page; with `check` (CI), only says which page disagrees and returns 1."""
    stale = 0
    for name, page in PAGES.items():
        text = page.read_text(encoding="utf-8")
        updated = render(text, name)
        if updated == text:
            continue
        if check:
            print(f"{page.relative_to(ROOT)}: the {name} table disagrees with the code; run `make docs`.")
            stale += 1
        else:
            page.write_text(updated, encoding="utf-8")
            print(f"Wrote the {name} table into {page.relative_to(ROOT)}.")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(check="--check" in sys.argv[1:]))
