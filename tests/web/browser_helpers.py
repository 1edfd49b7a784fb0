"""Steps the browser tests share."""

from __future__ import annotations

import os
from pathlib import Path

PASSWORD = "correct horse battery"
SCREENSHOTS = os.environ.get("DIALER_SCREENSHOTS")  # a folder (e.g. docs) to keep page screenshots in


def login(page, server, name: str) -> None:
    page.goto(server.url + "/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("#submit")


def screenshot(page, name: str, tmp_path: Path) -> Path:
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    assert path.stat().st_size > 10_000  # a real rendering, not a blank page
    return path
