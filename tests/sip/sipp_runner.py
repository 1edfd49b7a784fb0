"""Run sipp as a real SIP peer for interop tests and benchmarks (loopback only)."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import trio

SCENARIOS = Path(__file__).resolve().parent / "sipp"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port nobody holds right now: bind port 0, read it, close."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sipp_command(sipp: str, port: int, *args: str) -> list[str]:
    """sipp bound to 127.0.0.1:`port` with its control and media sockets on free loopback
    ports too (by default it listens on 0.0.0.0:8888, which parallel runs would fight over)."""
    return [sipp, "-i", "127.0.0.1", "-p", str(port), "-ci", "127.0.0.1", "-cp", str(free_port()),
            "-mi", "127.0.0.1", "-mp", str(free_port()), "-nostdin", *args]


async def run_sipp(command: list[str], time_limit: float, task_status=trio.TASK_STATUS_IGNORED):
    """Run sipp, give it `time_limit` seconds (it can take minutes to stop when overrun),
    return the CompletedProcess (stdout/stderr captured)."""
    async with trio.open_nursery() as nursery:
        process_holder = []

        async def run():
            process_holder.append(await trio.run_process(
                command, check=False, capture_stdout=True, capture_stderr=True))

        nursery.start_soon(run)
        await trio.sleep(0.2)  # let sipp bind its socket
        task_status.started()
        with trio.move_on_after(time_limit) as scope:
            while not process_holder:
                await trio.sleep(0.05)
        if scope.cancelled_caught:
            nursery.cancel_scope.cancel()  # trio kills the process on cancellation
            return subprocess.CompletedProcess(command, -9, b"", b"time limit")
    return process_holder[0]
