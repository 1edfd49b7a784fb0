"""An embedded PostgreSQL server for machines with no database configured.

`pgserver` ships real PostgreSQL binaries; we start one in a data folder
(default `.dialer/pg` under the working directory), reuse it across runs and
stop it when the last user lets go. As root, pgserver runs the server as a
system user `pgserver`, so the folder must be reachable by that user; we also
pin XDG_RUNTIME_DIR to a private folder beside the data so nothing lands in
odd places.

The server gets settings of its own (`SETTINGS`, written to `dialer.conf` in the
data folder and included from `postgresql.conf`): PostgreSQL's defaults are sized
for a 1990s machine (128 MB of buffers, a checkpoint every 1 GB of WAL), and a
dialer's hot path (claims over a 10 M-lead table, imports) pays for them in disk
reads and checkpoint spikes. The share chosen is modest (about 1.5 GB at most of a
24 GB machine) because other programs, and other dialer data folders, share it; see
docs/ARCHITECTURE.md. Reloadable settings apply at once; `shared_buffers` at the
server's next start.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATA_DIR = Path(".dialer") / "pg"
DATA_DIR_ENV = "DIALER_PG_DATA"
SETTINGS_FILE = "dialer.conf"

SETTINGS = {
    # The hot part of a big lead table (the hopper's partial indexes, the pages
    # near the claim cursors) and the import's working set stay in memory.
    "shared_buffers": "1GB",
    "effective_cache_size": "4GB",
    # Index builds (import, bench loads) sort in memory instead of on disk.
    "maintenance_work_mem": "256MB",
    # Fewer checkpoints: each one makes the next change of every page write a
    # full-page image to the WAL (slower claims right after it, a p99 spike).
    "max_wal_size": "4GB",
    "checkpoint_timeout": "15min",
    "checkpoint_completion_target": "0.9",
    # Local SSD: random reads cost about what sequential ones do.
    "random_page_cost": "1.1",
}


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
    write_settings(data_dir)  # a data folder that exists: its server starts with them
    server = pgserver.get_server(str(data_dir), cleanup_mode="stop")
    if write_settings(data_dir):  # a new data folder (or new settings): reload now
        server.psql("SELECT pg_reload_conf();")
    return EmbeddedServer(data_dir=data_dir, url=server.get_uri(), _server=server)


def write_settings(data_dir: Path) -> bool:
    """Make `data_dir`'s server read SETTINGS; True if a file changed. Does nothing to a
    folder initdb has not made yet."""
    conf = data_dir / "postgresql.conf"
    if not conf.exists():
        return False
    changed = False
    text = "".join(f"{name} = '{value}'\n" for name, value in SETTINGS.items())
    ours = data_dir / SETTINGS_FILE
    if not ours.exists() or ours.read_text() != text:
        tmp = ours.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(text)
        os.chmod(tmp, 0o644)  # the server may run as another user (pgserver, as root)
        tmp.replace(ours)
        changed = True
    include = f"include_if_exists = '{SETTINGS_FILE}'"
    if include not in conf.read_text():
        with conf.open("a") as f:
            f.write(f"\n# dialer's own settings (dialer/store/embedded.py)\n{include}\n")
        changed = True
    return changed
