"""`dialer run --config FILE`: the daemon (see dialer/engine/engine.py).

SIGINT/SIGTERM: stop new dials, let live calls finish up to the drain timeout, hang up the
rest cleanly, record every outcome, exit 0.
"""

from __future__ import annotations

import signal

import trio

from .common import CliError, run


def register(sub) -> None:
    p = sub.add_parser("run", help="run the dialer daemon (campaigns from the config and the database)")
    p.add_argument("--config", required=True, help="TOML config (see config/example.toml)")
    p.add_argument("--drain-timeout", type=float, default=30.0,
                   help="seconds live calls may go on after SIGINT/SIGTERM (default 30)")
    p.add_argument("--campaign", action="append", help="run only this campaign (repeatable)")
    p.set_defaults(func=lambda a: run(_run, a))


async def _run(args) -> int:
    from dialer.config import load_config
    from dialer.engine.engine import Engine, EngineOptions
    from dialer.sip.trunk import TrunkPool
    from dialer.store import open_store
    from dialer.store.campaigns import apply_campaign_config

    config = load_config(args.config)
    if not config.trunks:
        raise CliError(f"{args.config}: trunks: at least one [[trunks]] entry is needed to dial")
    node = config.node
    options = EngineOptions(node=node.name, sip_listen=node.sip_listen, http_listen=node.http_listen,
                            lease_seconds=node.lease_seconds, drain_timeout=args.drain_timeout,
                            campaigns=args.campaign)
    async with open_store(args.database_url or config.database_url) as store:
        for cfg in config.campaigns:
            await store.run(apply_campaign_config, cfg)
        engine = Engine(store, TrunkPool.from_config(config.trunks), options)
        with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with trio.open_nursery() as nursery:
                try:
                    await nursery.start(engine.run)
                except OSError as exc:
                    raise CliError(f"node.sip_listen / node.http_listen: cannot listen ({exc})") from None
                print(f"dialer: node {node.name}: SIP on {engine.sip_address[0]}:{engine.sip_address[1]}"
                      + (f", /metrics on http://{engine.http_address[0]}:{engine.http_address[1]}/metrics"
                         if engine.http_address else "")
                      + f"; {len(engine.runners)} campaign(s) dialing; "
                      f"recovered {len(engine.recovered.get('closed', []))} open attempt(s)", flush=True)
                async for signum in signals:
                    print(f"dialer: {signal.Signals(signum).name}: stopping new dials, draining live calls "
                          f"(up to {args.drain_timeout:g} s)", flush=True)
                    engine.stop()
                    break
        stats: dict[str, int] = {}
        for runner in engine.runners:
            for outcome, n in runner.stats.items():
                stats[outcome] = stats.get(outcome, 0) + n
        print("dialer: stopped; outcomes: " + (", ".join(f"{k} {v}" for k, v in sorted(stats.items())) or "none"))
    return 0
