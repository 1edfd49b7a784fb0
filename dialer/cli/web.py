"""`dialer web`: serve the HTTP API and the pages on their own (no dialing).

`dialer run` (the engine's daemon) serves the same app inside its nursery with
the engine as the operator desk; this command is for trying the pages, for
supervisors' and validators' work while no campaign dials, and for tests.
"""

from __future__ import annotations

import sys

from .common import run, store_for


def register(sub) -> None:
    p = sub.add_parser("web", help="serve the HTTP API and web pages (without the dialing engine)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    p.set_defaults(func=lambda a: run(_serve, a))


async def _serve(args) -> int:
    import trio

    from dialer.api import create_app, serve

    async with store_for(args) as store:
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(serve, create_app(store), args.host, args.port)
            for url in urls:
                print(f"dialer web: serving on {url} (pages at {url}/login, API description at {url}/openapi.json)")
            sys.stdout.flush()
    return 0
