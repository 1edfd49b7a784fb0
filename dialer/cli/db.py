"""`dialer db migrate|status`."""

from __future__ import annotations

from .common import add_json_flag, print_json, run, store_for


def register(sub) -> None:
    db = sub.add_parser("db", help="database: migrate, status")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    p = dbsub.add_parser("migrate", help="apply pending schema migrations (safe to run twice, or from two nodes)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_migrate, a))
    p = dbsub.add_parser("status", help="which database is in use, where, and its schema version")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_status, a))


async def _migrate(args) -> int:
    from dialer.store import open_store
    from dialer.store.migrate import migrate

    async with open_store(args.database_url, migrated=False) as store:
        applied = await migrate(store)
        if args.json:
            print_json({"applied": [f"{m.version:03d}_{m.name}" for m in applied],
                        "database": store.database.describe()})
        elif applied:
            for m in applied:
                print(f"applied {m.version:03d}_{m.name}")
        else:
            print("schema is up to date")
    return 0


async def _status(args) -> int:
    from dialer.store import open_store
    from dialer.store.migrate import applied_versions, available_migrations

    async with open_store(args.database_url, migrated=False) as store:
        server = await store.fetchval("SHOW server_version")
        applied = await applied_versions(store)
        known = [m.version for m in available_migrations()]
        pending = [v for v in known if v not in applied]
        info = {
            "database": store.database.describe(),
            "embedded": store.database.embedded is not None,
            "data_dir": str(store.database.embedded.data_dir) if store.database.embedded else None,
            "server_version": server,
            "schema_version": max(applied) if applied else None,
            "pending_migrations": pending,
        }
    if args.json:
        print_json(info)
    else:
        print(f"database:  {info['database']}")
        print(f"server:    PostgreSQL {server}")
        print(f"schema:    version {info['schema_version'] or 'none'}"
              + (f", {len(pending)} pending (run `dialer db migrate`)" if pending else ", up to date"))
    return 0
