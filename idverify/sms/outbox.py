"""A development SMS sender that appends each message to a JSON-lines file instead of sending it.

The file holds live codes: it is for development and demos only, created with mode 0600. Each send takes an exclusive
``flock`` on the file and writes its line with one ``write`` call, so concurrent senders (threads or processes)
never interleave lines.
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from idverify.domain.ports import Clock, Random, SystemClock, SystemRandom


class OutboxSmsSender:
    """Appends ``{"to", "body", "at", "id"}`` lines to ``path``; returns the id (``OB`` + 32 hex digits)."""

    def __init__(self, path: str | os.PathLike[str], clock: Clock | None = None, random: Random | None = None) -> None:
        self._path = Path(path)
        self._clock = clock or SystemClock()
        self._random = random or SystemRandom()

    @property
    def path(self) -> Path:
        return self._path

    def send(self, to_e164: str, body: str) -> str:
        message_id = "OB" + self._random.token_bytes(16).hex()
        record = {"to": to_e164, "body": body, "at": self._clock.now().isoformat(), "id": message_id}
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                written = os.write(fd, line)
                while written < len(line):  # a short write is rare on local files; finish it under the lock
                    written += os.write(fd, line[written:])
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return message_id
