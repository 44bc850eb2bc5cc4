"""A long-running command's stop flag: SIGTERM or Ctrl-C lets the current step finish, then the loop ends."""

from __future__ import annotations

import signal
import time
from types import FrameType


class StopFlag:
    """Truthy once a stop was asked for; `wait` sleeps between passes without making a stop wait for it."""

    def __init__(self) -> None:
        self.requested = False

    def __bool__(self) -> bool:
        return self.requested

    def stop(self, signum: int | None = None, frame: FrameType | None = None) -> None:
        self.requested = True

    def on_signals(self) -> StopFlag:
        """Only from the main thread (Python's rule for signal handlers), as the CLI runs."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        return self

    def wait(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.requested and time.monotonic() < deadline:
            time.sleep(min(0.2, seconds))
