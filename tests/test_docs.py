"""The docs say what the code does: generated tables that match it, and shell examples that parse and run."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import free_port, make_config
from werkzeug.serving import make_server

from feedback import create_app
from feedback.config import SETTINGS, from_environment
from feedback.settings.models import SiteSettings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import docs_reference  # noqa: E402

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELLS = {"bash", "sh", "shell", "console"}
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.DOTALL | re.MULTILINE)
#: The stand-ins the live examples read instead of what `make run` and the reader's .env would give them.
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
STRIPE_WEBHOOK_SECRET = "whsec_test_docs_stripe_secret"
PADDLE_WEBHOOK_SECRET = "pdl_ntfset_test_docs_paddle_secret"
CHARGEBEE_WEBHOOK_PASSWORD = "test docs: chargebee password"


def shell_blocks(page: Path) -> list[str]:
    """Each ```bash/sh/shell/console block of a page, dedented; a console block's commands without their `$ `."""
    blocks = []
    for match in FENCE.finditer(page.read_text(encoding="utf-8")):
        if match["lang"] not in SHELLS:
            continue
        indent = len(match["indent"])
        lines = [line[indent:] for line in match["body"].splitlines()]
        if match["lang"] == "console":
            lines = [line[2:] for line in lines if line.startswith("$ ")]
        blocks.append("\n".join(lines) + "\n")
    return blocks


def test_the_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150


def test_the_readme_links_only_to_files_that_exist():
    """MkDocs checks the links inside docs/ (--strict); the README, outside it, is checked here."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", readme)
    local = [target for target in targets if "://" not in target]
    assert "docs/getting-started.md" in local and "docs/img/summary.png" in local
    assert [target for target in local if not (ROOT / target).exists()] == []


@pytest.mark.parametrize("table", sorted(docs_reference.PAGES))
def test_each_generated_table_is_what_the_code_declares(table):
    page = docs_reference.PAGES[table]
    text = page.read_text(encoding="utf-8")
    assert docs_reference.render(text, table) == text, f"{page.name}: run `make docs` to write the {table} table"


def test_the_jobs_table_lists_every_job_the_worker_runs():
    from feedback import register_jobs
    from feedback.jobs.registry import registered

    register_jobs(None)
    text = docs_reference.PAGES["jobs"].read_text(encoding="utf-8")
    listed = re.findall(r"^\| `([a-z-]+\.[a-z-]+)` \|", text, re.MULTILINE)
    assert listed == [job.name for job in registered()]
    assert len(listed) == 12


def test_config_reads_every_setting_through_the_declaration(tmp_path, monkeypatch):
    """A setting read straight from os.environ would be missing from the docs' table."""
    source = (ROOT / "feedback" / "config.py").read_text(encoding="utf-8")
    read_directly = set(re.findall(r"os\.environ(?:\.get\(|\[)\"([A-Z_]+)\"", source))
    declared = {setting.name for setting in SETTINGS}
    assert read_directly <= declared
    assert len(declared) == len(SETTINGS), "a setting is declared twice"
    for setting in SETTINGS:
        monkeypatch.delenv(setting.name, raising=False)
    config = from_environment(str(tmp_path))
    assert declared - {"DATABASE_URL"} <= set(config)
    for setting in SETTINGS:
        if setting.name != "DATABASE_URL":
            assert config[setting.name] == setting.default, setting.name


def test_the_settings_an_admin_can_override_are_the_settings_page_columns():
    columns = {column.name.upper() for column in SiteSettings.__table__.columns}
    columns -= {"ID", "UPDATED_AT", "UPDATED_BY_ID"}
    assert {setting.name for setting in SETTINGS if setting.admin_overridable} == columns


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_shell_block_parses(page):
    for block in shell_blocks(page):
        checked = subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, check=False)
        assert checked.returncode == 0, f"{page.name}: {checked.stderr}\n{block}"


def test_a_quote_left_open_fails_the_check(tmp_path):
    """The check above catches the README's old example: a single-quoted body holding "can't"."""
    page = tmp_path / "page.md"
    page.write_text('```sh\ncurl -d \'{"comment": "We can\'t"}\'\n```\n', encoding="utf-8")
    (block,) = shell_blocks(page)
    assert subprocess.run(["bash", "-n"], input=block, capture_output=True, text=True, check=False).returncode != 0


@pytest.fixture
def live(database_url, smtp) -> Iterator[Any]:
    """The app over real HTTP on a free loopback port, holding the demo data the examples name."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        make_config(
            database_url,
            smtp,
            BASE_URL=base_url,
            WEBHOOK_SECRET=WEBHOOK_SECRET,
            STRIPE_WEBHOOK_SECRET=STRIPE_WEBHOOK_SECRET,
            PADDLE_WEBHOOK_SECRET=PADDLE_WEBHOOK_SECRET,
            CHARGEBEE_WEBHOOK_USERNAME="chargebee",
            CHARGEBEE_WEBHOOK_PASSWORD=CHARGEBEE_WEBHOOK_PASSWORD,
        )
    )
    loaded = app.test_cli_runner().invoke(args=["demo"])
    assert loaded.exit_code == 0, loaded.output
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = base_url  # type: ignore[attr-defined]
    try:
        yield app
    finally:
        server.shutdown()
        thread.join()


def live_examples(page: Path) -> str:
    """A page's blocks that talk to the server (they say `$BASE`), in order, as one script, as a reader runs them."""
    return "".join(block for block in shell_blocks(page) if "$BASE" in block)


@pytest.mark.parametrize("name", ["api.md", "standard-webhooks.md", "stripe.md", "paddle.md", "chargebee.md"])
def test_the_examples_run_against_a_live_server(live, name, tmp_path):
    script = live_examples(ROOT / "docs" / name)
    assert script, f"{name} has no example that talks to the server"
    # The scopes api.md's own example gives its token: a page that needs more fails here.
    scopes = ["--scope", "cancellations:write", "--scope", "cancellations:read", "--scope", "action_items:write"]
    created = live.test_cli_runner().invoke(args=["tokens", "create", "Docs", *scopes])
    assert created.exit_code == 0, created.output
    token = created.output.strip().splitlines()[-1]
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # the examples name files in the checkout
    env = {
        **os.environ,
        "BASE": live.base_url,
        "TOKEN": token,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "PADDLE_WEBHOOK_SECRET": PADDLE_WEBHOOK_SECRET,
        "CHARGEBEE_WEBHOOK_USERNAME": "chargebee",
        "CHARGEBEE_WEBHOOK_PASSWORD": CHARGEBEE_WEBHOOK_PASSWORD,
    }
    # Every curl fails on an HTTP error, whether or not the example says --fail-with-body.
    prelude = 'set -euo pipefail\ncurl() { command curl --fail-with-body "$@"; }\n'
    ran = subprocess.run(
        ["bash", "-c", prelude + script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, f"{ran.stdout}\n{ran.stderr}\n{script}"


def test_the_owners_guide_explains_every_state_the_pages_show():
    from feedback.postmortem.models import STATE_LABELS

    guide = (ROOT / "docs" / "owners.md").read_text(encoding="utf-8")
    explained = re.findall(r"^\| ([A-Z][^|]+?) \| [^|]+ \|$", guide, re.MULTILINE)
    assert explained[1:] == list(STATE_LABELS.values())  # the first row is the table's header


@pytest.mark.parametrize("old", ["actions.weekly-digest", "insights.weekly-digest"])
def test_no_page_names_a_job_by_its_old_name(old):
    """Migration 0016 renamed the two digests so they can be told apart; a page saying the old name sends readers
    looking for a job that `flask jobs status` no longer lists."""
    assert [page.name for page in PAGES if old in page.read_text(encoding="utf-8")] == []
