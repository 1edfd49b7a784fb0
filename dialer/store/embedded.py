"""An embedded PostgreSQL server for machines with no database configured.

`pgserver` ships real PostgreSQL binaries; we start one in a data folder
(default `.dialer/pg` under the working directory), reuse it across runs and
stop it when the last user lets go. As root, pgserver runs the server as a
system user `pgserver`, so the folder must be reachable by that user; we also
pin XDG_RUNTIME_DIR to a private folder beside the data so nothing lands in
odd places.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(".dialer") / "pg"
DATA_DIR_ENV = "DIALER_PG_DATA"


@dataclass
class EmbeddedServer:
    data_dir: Path
    url: str
    _server: object

    def stop(self) -> None:
        """Let go of the server; it stops when no other process still uses it."""
        self._server.cleanup()


def default_data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).absolute()


def start_embedded(data_dir: Path | None = None) -> EmbeddedServer:
    data_dir = (data_dir or default_data_dir()).absolute()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    runtime = data_dir.parent / "run"
    runtime.mkdir(mode=0o700, exist_ok=True)
    os.chmod(runtime, 0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))

    import pgserver  # imported late (slow import) and after XDG_RUNTIME_DIR is set: it reads it
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    return EmbeddedServer(data_dir=data_dir, url=server.get_uri(), _server=server)
