"""Outside programs the interop tests need (sipp, Chromium, ...).

Where one is missing the test skips with the reason, except under
`DIALER_REQUIRE_PEERS=1` (set by CI, which installs them), where it fails.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_program(name: str, package: str) -> str:
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} not found (Debian package {package})"
    if os.environ.get("DIALER_REQUIRE_PEERS") == "1":
        pytest.fail(f"{reason}, and DIALER_REQUIRE_PEERS=1 says it must be here")
    pytest.skip(reason)
