"""A real IMAP server for the tests: Debian's dovecot-imapd with a generated configuration, on loopback.

It runs in the foreground as a child of the test run, with its state, its mail (Maildir) and its one user
(farewell / secret, a passwd-file) in a temporary directory, plaintext logins allowed and no TLS.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import IN_CI, free_port
from imapclient import IMAPClient

DOVECOT = "/usr/sbin/dovecot"
USER, PASSWORD = "farewell", "secret"


@dataclass
class IMAPServer:
    port: int
    root: Path

    @property
    def url(self) -> str:
        return f"imap://{USER}:{PASSWORD}@127.0.0.1:{self.port}/INBOX"

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", port=self.port, ssl=False, timeout=10)
        client.login(USER, PASSWORD)
        return client

    def deliver(self, *messages: bytes) -> None:
        """Delivers each message into INBOX by IMAP APPEND, as unseen mail."""
        with self.client() as client:
            for raw in messages:
                client.append("INBOX", raw)

    def flags(self) -> list[tuple[bytes, ...]]:
        with self.client() as client:
            client.select_folder("INBOX", readonly=True)
            found = client.fetch(client.search(["ALL"]), ["FLAGS"])
            return [found[uid][b"FLAGS"] for uid in sorted(found)]

    def clear(self) -> None:
        with self.client() as client:
            client.select_folder("INBOX")
            uids = client.search(["ALL"])
            if uids:
                client.delete_messages(uids)
                client.expunge()


def _users(root: Path) -> tuple[str, str, int, int]:
    """Who dovecot's processes and the mail belong to: the tester, or dovecot's own users when run as root."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.getuid())
        return me.pw_name, me.pw_name, me.pw_uid, me.pw_gid
    mail = pwd.getpwnam("dovecot")
    return "dovecot", "dovenull", mail.pw_uid, mail.pw_gid


def _config(root: Path, port: int) -> Path:
    internal, login, uid, gid = _users(root)
    (root / "mail").mkdir()
    os.chown(root / "mail", uid, gid) if os.geteuid() == 0 else None
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}:{uid}:{gid}::{root}/mail/{USER}\n")
    config = root / "dovecot.conf"
    config.write_text(
        f"""
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = farewell-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
default_internal_user = {internal}
default_internal_group = {internal if os.geteuid() else "dovecot"}
default_login_user = {login}
first_valid_uid = 1
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
"""
    )
    return config


@pytest.fixture(scope="session")
def dovecot_server() -> Iterator[IMAPServer]:
    if not os.path.exists(DOVECOT):
        if IN_CI:
            pytest.fail("dovecot-imapd is not installed: .ci/run installs it, and CI must test IMAP for real.")
        pytest.skip("dovecot-imapd is not installed (apt-get install dovecot-imapd)")
    # Not under pytest's tmp_path: dovecot's unprivileged processes must reach the directory.
    root = Path(tempfile.mkdtemp(prefix="farewell-dovecot-"))
    root.chmod(0o755)
    (root / "state").mkdir()
    port = free_port()
    process = subprocess.Popen(
        [DOVECOT, "-F", "-c", str(_config(root, port))], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    server = IMAPServer(port, root)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                server.client().logout()
                break
            except (OSError, Exception):
                if process.poll() is not None or time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    raise RuntimeError(f"dovecot did not start: {process.stderr.read()!r} {log[-2000:]}") from None
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def imap(dovecot_server: IMAPServer) -> Iterator[IMAPServer]:
    dovecot_server.clear()
    yield dovecot_server
