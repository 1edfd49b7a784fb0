"""`dialer demo`: the README's main job.

Until the dialing engine lands, this runs the furthest real slice there is:
it starts the embedded database, migrates it and loads the demo campaign from
`config/demo.toml`, then shows it. It says so when it runs.
"""

from __future__ import annotations

from pathlib import Path

from .common import run


def register(sub) -> None:
    p = sub.add_parser("demo", help="run the demo campaign (see README)")
    p.add_argument("--config", default=None, help="config file (default: the bundled demo config)")
    p.set_defaults(func=lambda a: run(_demo, a))


def demo_config_path() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "demo.toml"


async def _demo(args) -> int:
    from dialer.config import load_config
    from dialer.store import open_store
    from dialer.store.campaigns import apply_campaign_config, list_campaigns

    print("dialer demo: the dialing engine is not built yet; this runs the furthest real slice:")
    print("             embedded database -> migrations -> demo campaign from config.\n")
    config = load_config(args.config or demo_config_path())
    async with open_store(args.database_url) as store:
        print(f"database: {store.database.describe()}")
        for cfg in config.campaigns:
            campaign, created = await store.run(apply_campaign_config, cfg)
            print(f"{'created' if created else 'updated'} campaign {campaign['name']} (id {campaign['id']})")
        for c in await store.run(list_campaigns):
            print(f"  {c['name']}: {c['lists']} lists, {c['leads']} leads, dial mode {c['dial_mode']}")
    return 0
