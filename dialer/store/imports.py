"""The database half of an import: one unit of work, one transaction.

The pipeline (dialer/leads/pipeline.py) parses and validates rows into
staging CSV (PostgreSQL CSV), batch by batch. `load_import` then, inside ONE
transaction: creates the new list if asked, COPYs that stream (or a file) into
a temporary staging table while the parse goes on, marks wireless numbers, matches customer keys, filters DNC and
duplicates (in the file and in the database) with set-based SQL, relocates
older duplicates, updates and inserts leads, and returns the counts and the
rejected row numbers. Any failure (or a dry run) rolls everything back, so no
partial list is ever left behind.

Rejections are counted once, in this order: wireless (with --wireless skip),
DNC, duplicate customer key, duplicate phone.
"""

from __future__ import annotations

import json
import time

from .bridge import copy_stream_to_table
from .dnc import dnc_condition
from .lists import SYS_DUPLICATE_LIST

STAGE_COLUMNS = ("row_no", "phone", "phone_type", "alt_phones", "first_name", "last_name", "email", "address",
                 "city", "region", "postal_code", "country", "timezone", "timezones", "customer_key",
                 "status", "attempts", "fields")

_STAGE_DDL = """
CREATE TEMP TABLE import_stage (
    row_no int NOT NULL, phone text NOT NULL, phone_type text, alt_phones text[], first_name text,
    last_name text, email text, address text, city text, region text, postal_code text, country text,
    timezone text NOT NULL, timezones text[], customer_key text, status text, attempts int, fields jsonb,
    reject text, update_id bigint, dup_file boolean NOT NULL DEFAULT false,
    dup_db boolean NOT NULL DEFAULT false
) ON COMMIT DROP"""


class DryRun(Exception):
    """Raised at the end of a dry run so the transaction rolls back; carries the result."""

    def __init__(self, result: dict):
        super().__init__("dry run")
        self.result = result


class ImportRefused(ValueError):
    """The import cannot start (e.g. the new list's name is taken)."""


def _dup_args(plan: dict) -> list:
    return [plan["campaign_id"], plan.get("dup_lists") or []] if plan["dup_scope"] == "lists" else [plan["campaign_id"]]


def _dup_scope_sql(plan: dict) -> str:
    """Condition on lead `l` for the duplicate scope ($1 = campaign id, $2 = list ids)."""
    scope = plan["dup_scope"]
    # Every scope mentions $1 so the parameter list is the same: ($1) or, for lists, ($1, $2).
    not_system = "$1::bigint IS NOT NULL AND l.list_id NOT IN (SELECT id FROM lead_list WHERE system)"
    if scope == "account":
        return not_system
    if scope == "campaign":
        return f"l.campaign_id = $1 AND {not_system}"
    if scope == "lists":
        return f"l.list_id = ANY($2::bigint[]) AND {not_system}"
    if scope == "purpose":
        return (f"l.campaign_id IN (SELECT c2.id FROM campaign c1 JOIN campaign c2 "
                f"ON c2.purpose IS NOT DISTINCT FROM c1.purpose WHERE c1.id = $1) AND {not_system}")
    raise ValueError(f"unknown duplicate scope {scope!r}")


async def load_import(conn, source, plan: dict) -> dict:
    """`source`: a staging-CSV file path, or an async iterable of bytes (a
    bridge.TrioStream fed by the parser) that ends only after a good parse."""
    steps: dict[str, float] = {}
    clock = [time.perf_counter()]

    def step(name: str) -> None:
        now = time.perf_counter()
        steps[name] = round(now - clock[0], 3)
        clock[0] = now

    campaign_id = plan["campaign_id"]
    list_id = plan.get("list_id")
    if plan.get("new_list_name"):
        if await conn.fetchval("SELECT 1 FROM lead_list WHERE campaign_id = $1 AND name = $2",
                               campaign_id, plan["new_list_name"]):
            raise ImportRefused(f"--new-list: the campaign already has a list {plan['new_list_name']!r} "
                                "(use --list to add to it)")
        list_id = await conn.fetchval(
            "INSERT INTO lead_list (campaign_id, name, weight, to_dial) VALUES ($1, $2, $3, $4) RETURNING id",
            campaign_id, plan["new_list_name"], plan.get("weight", 100), plan.get("to_dial", False))

    # Hold the campaign and list as the foreign-key checks would (no concurrent
    # delete until we commit); then the per-row checks can be skipped if allowed.
    await conn.execute("SELECT 1 FROM campaign WHERE id = $1 FOR KEY SHARE", campaign_id)
    if list_id is not None:
        await conn.execute("SELECT 1 FROM lead_list WHERE id = $1 FOR KEY SHARE", list_id)
    # Sorts and hashes over a million staged rows stay in memory instead of
    # spilling to disk at the default 4 MB (server memory; ends with the transaction).
    await conn.execute("SET LOCAL work_mem = '128MB'")
    # synchronous_commit stays on: an import reported as done must survive a
    # crash a moment later (turning it off was measured as a small gain only).
    await conn.execute(_STAGE_DDL)
    await copy_stream_to_table(conn, "import_stage", source, columns=list(STAGE_COLUMNS), format="csv")
    step("copy")
    await conn.execute("ANALYZE import_stage")
    step("analyze")
    result = {"list_id": list_id, "wireless": 0, "dnc": 0, "duplicates": 0, "relocated": 0,
              "updated": 0, "imported": 0}

    # Wireless: phonenumbers said MOBILE already; NANP numbers by block list.
    if await conn.fetchval("SELECT EXISTS (SELECT 1 FROM wireless_block)"):
        await conn.execute(
            """UPDATE import_stage SET phone_type = 'mobile'
               WHERE phone LIKE '+1%' AND phone_type IS DISTINCT FROM 'mobile'
                 AND (substr(phone, 3, 6) IN (SELECT prefix FROM wireless_block)
                      OR substr(phone, 3, 7) IN (SELECT prefix FROM wireless_block))""")
    result["wireless"] = await conn.fetchval("SELECT count(*) FROM import_stage WHERE phone_type = 'mobile'")
    if plan.get("wireless") == "skip":
        await conn.execute("UPDATE import_stage SET reject = 'wireless' WHERE phone_type = 'mobile'")
    step("wireless")

    # DNC.
    if plan["dnc_scope"] != "none":
        hit = f"""reject IS NULL AND EXISTS (SELECT 1 FROM dnc d WHERE d.phone = import_stage.phone
                  AND {dnc_condition(plan['dnc_scope'], 'd', '$1')})"""
        action = "reject = 'dnc'" if plan["dnc_action"] == "skip" else "status = 'DNC'"
        status = await conn.execute(f"UPDATE import_stage SET {action} WHERE {hit}", campaign_id)
        result["dnc"] = int(status.split()[-1])
    step("dnc")

    # Update by customer key: rows whose key exists in the list update that lead;
    # when a key repeats in the file, its last row wins.
    if plan.get("update_by_key") and list_id is not None:
        await conn.execute(
            """UPDATE import_stage s SET update_id = l.id FROM lead l
               WHERE l.list_id = $1 AND l.customer_key = s.customer_key AND s.reject IS NULL""", list_id)
        await conn.execute(
            """UPDATE import_stage s SET reject = 'duplicate_customer_key' FROM (
                   SELECT row_no, row_number() OVER (PARTITION BY update_id ORDER BY row_no DESC) AS rn
                   FROM import_stage WHERE update_id IS NOT NULL AND reject IS NULL) r
               WHERE r.row_no = s.row_no AND r.rn > 1""")

    step("customer_key")
    # Duplicates, always within the file, and against the database by scope.
    # A hash aggregate finds the repeated phones (the first row of each wins);
    # measured 1.7x faster than a row_number() window sort on a million rows.
    await conn.execute(
        """UPDATE import_stage s SET dup_file = true FROM (
               SELECT phone, min(row_no) AS first FROM import_stage
               WHERE reject IS NULL AND update_id IS NULL GROUP BY phone HAVING count(*) > 1) f
           WHERE s.phone = f.phone AND s.row_no <> f.first AND s.reject IS NULL AND s.update_id IS NULL""")
    step("dup_file")
    if plan["dup_scope"] != "none":
        await conn.execute(
            f"""UPDATE import_stage s SET dup_db = true
                WHERE s.reject IS NULL AND s.update_id IS NULL
                  AND EXISTS (SELECT 1 FROM lead l WHERE l.phone = s.phone AND {_dup_scope_sql(plan)})""",
            *_dup_args(plan))
    step("dup_db")
    result["duplicates"] = await conn.fetchval(
        "SELECT count(*) FROM import_stage WHERE reject IS NULL AND (dup_file OR dup_db)")
    action = plan["dup_action"]
    if action == "skip":
        await conn.execute("UPDATE import_stage SET reject = 'duplicate' WHERE reject IS NULL AND (dup_file OR dup_db)")
    elif action == "mark":
        await conn.execute("UPDATE import_stage SET status = 'DUPLICATE' WHERE reject IS NULL AND (dup_file OR dup_db)")
    elif action == "relocate":
        # A repeat within the file is skipped (it is not an "older" lead); older
        # leads in the database move to their campaign's SYS_DUPLICATE_LEADS.
        await conn.execute("UPDATE import_stage SET reject = 'duplicate' WHERE reject IS NULL AND dup_file")
        inbound = "AND l.source <> 'inbound'" if plan.get("dup_retain") == "new+inbound" else ""
        older = f"""SELECT l.id, l.campaign_id FROM lead l JOIN import_stage s ON s.phone = l.phone
                    WHERE s.reject IS NULL AND s.dup_db AND {_dup_scope_sql(plan)} {inbound}"""
        await conn.execute(
            f"""INSERT INTO lead_list (campaign_id, name, to_dial, active, system)
                SELECT DISTINCT o.campaign_id, '{SYS_DUPLICATE_LIST}', false, false, true FROM ({older}) o
                ON CONFLICT (campaign_id, name) DO NOTHING""", *_dup_args(plan))
        status = await conn.execute(
            f"""UPDATE lead SET list_id = sys.id, updated_at = now()
                FROM ({older}) o JOIN lead_list sys ON sys.campaign_id = o.campaign_id AND sys.name = '{SYS_DUPLICATE_LIST}'
                WHERE lead.id = o.id""", *_dup_args(plan))
        result["relocated"] = int(status.split()[-1])

    step("dup_action")
    if list_id is None:
        raise ImportRefused("no target list")
    if plan.get("update_by_key"):
        status = await conn.execute(
            """UPDATE lead l SET phone = s.phone, phone_type = coalesce(s.phone_type, l.phone_type),
                   alt_phones = coalesce(s.alt_phones, l.alt_phones),
                   first_name = coalesce(s.first_name, l.first_name), last_name = coalesce(s.last_name, l.last_name),
                   email = coalesce(s.email, l.email), address = coalesce(s.address, l.address),
                   city = coalesce(s.city, l.city), region = coalesce(s.region, l.region),
                   postal_code = coalesce(s.postal_code, l.postal_code), country = coalesce(s.country, l.country),
                   timezone = s.timezone, timezones = s.timezones,
                   fields = l.fields || coalesce(s.fields, '{}'::jsonb),
                   status = coalesce(s.status, l.status), attempts = coalesce(s.attempts, l.attempts),
                   completed = coalesce((SELECT completed FROM lead_status ls
                                         WHERE ls.campaign_id = l.campaign_id AND ls.code = s.status), l.completed),
                   updated_at = now()
               FROM import_stage s WHERE s.update_id = l.id AND s.reject IS NULL""")
        result["updated"] = int(status.split()[-1])

    if await _may_skip_fk_checks(conn):
        # Every inserted row carries the same campaign_id and list_id, checked
        # and locked (FOR KEY SHARE) above: the per-row foreign-key triggers
        # would only repeat that check, and cost ~60 % of the insert. Only a
        # superuser may do this, and only when every trigger of `lead`'s own
        # is an ALWAYS trigger (migration 035), which replica mode does not
        # silence; the hopper's window-key trigger keeps firing. SET LOCAL
        # ends with the transaction.
        await conn.execute("SET LOCAL session_replication_role = replica")
        result["fk_checks"] = "skipped (locked campaign and list)"
    insert = (
        """INSERT INTO lead (campaign_id, list_id, customer_key, phone, alt_phones, phone_type, first_name,
               last_name, email, address, city, region, postal_code, country, timezone, timezones, fields,
               source, status, call_mode, attempts, completed)
           SELECT $1, $2, s.customer_key, s.phone, coalesce(s.alt_phones, '{}'), s.phone_type, s.first_name,
               s.last_name, s.email, s.address, s.city, s.region, s.postal_code, s.country, s.timezone,
               s.timezones, coalesce(s.fields, '{}'::jsonb), $3, coalesce(s.status, 'NEW'),
               coalesce(ls.call_mode, 'new'), coalesce(s.attempts, 0), coalesce(ls.completed, false)
           FROM import_stage s
           LEFT JOIN lead_status ls ON ls.campaign_id = $1 AND ls.code = coalesce(s.status, 'NEW')
           WHERE s.reject IS NULL AND s.update_id IS NULL
           ORDER BY s.row_no""")  # ids in file order (the staging updates moved rows around)
    if plan.get("return_ids"):
        rows = await conn.fetch(insert + " RETURNING id", campaign_id, list_id, plan.get("source", "import"))
        result["ids"] = [r["id"] for r in rows]
        result["imported"] = len(rows)
    else:
        status = await conn.execute(insert, campaign_id, list_id, plan.get("source", "import"))
        result["imported"] = int(status.split()[-1])
    step("insert")
    await conn.execute("SET LOCAL session_replication_role = origin")
    rejected = await conn.fetch(
        "SELECT row_no, reject, phone FROM import_stage WHERE reject IS NOT NULL ORDER BY row_no")
    result["rejected"] = [(r["row_no"], r["reject"], r["phone"]) for r in rejected]
    step("rejects")
    result["steps"] = steps
    if plan.get("dry_run"):
        raise DryRun(result)
    return result


async def _may_skip_fk_checks(conn) -> bool:
    return bool(await conn.fetchval(
        """SELECT current_setting('is_superuser') = 'on'
              AND NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'lead'::regclass AND NOT tgisinternal
                               AND tgenabled NOT IN ('A', 'D'))"""))


# --------------------------------------------------------------------------- templates

async def save_template(conn, name: str, mapping: dict, timezone_rules: list, options: dict) -> None:
    await conn.execute(
        """INSERT INTO mapping_template (name, mapping, timezone_rules, options) VALUES ($1, $2, $3, $4)
           ON CONFLICT (name) DO UPDATE SET mapping = EXCLUDED.mapping,
               timezone_rules = EXCLUDED.timezone_rules, options = EXCLUDED.options""",
        name, json.dumps(mapping), json.dumps(timezone_rules), json.dumps(options))


async def load_template(conn, name: str) -> dict | None:
    row = await conn.fetchrow("SELECT name, mapping, timezone_rules, options FROM mapping_template WHERE name = $1",
                              name)
    if row is None:
        return None
    return {"map": json.loads(row["mapping"]), "timezone_rules": json.loads(row["timezone_rules"]),
            "options": json.loads(row["options"])}


async def list_templates(conn) -> list[dict]:
    rows = await conn.fetch("SELECT name, mapping, created_at FROM mapping_template ORDER BY name")
    return [{"name": r["name"], "mapping": json.loads(r["mapping"]), "created_at": r["created_at"]} for r in rows]


# --------------------------------------------------------------------------- jobs

async def queue_job(conn, campaign_id: int, list_id: int | None, new_list_name: str | None, filename: str,
                    options: dict, process_after) -> int:
    return await conn.fetchval(
        """INSERT INTO import_job (campaign_id, list_id, new_list_name, filename, options, process_after)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING id""",
        campaign_id, list_id, new_list_name, filename, json.dumps(options), process_after)


async def claim_due_job(conn) -> dict | None:
    """Mark the oldest due queued job running and return it (SKIP LOCKED: one runner per job)."""
    row = await conn.fetchrow(
        """UPDATE import_job SET status = 'running', started_at = now() WHERE id = (
               SELECT id FROM import_job WHERE status = 'queued' AND coalesce(process_after, now()) <= now()
               ORDER BY process_after NULLS FIRST, id LIMIT 1 FOR UPDATE SKIP LOCKED)
           RETURNING id, campaign_id, list_id, new_list_name, filename, options, process_after""")
    if row is None:
        return None
    job = dict(row)
    job["options"] = json.loads(job["options"])
    return job


async def finish_job(conn, job_id: int, summary: dict | None, error: str | None) -> None:
    await conn.execute(
        "UPDATE import_job SET status = $2, finished_at = now(), summary = $3, error = $4 WHERE id = $1",
        job_id, "failed" if error else "done", json.dumps(summary) if summary is not None else None, error)


async def list_jobs(conn) -> list[dict]:
    rows = await conn.fetch(
        """SELECT j.id, c.name AS campaign, coalesce(l.name, j.new_list_name) AS list, j.filename, j.status,
                  j.process_after, j.created_at, j.started_at, j.finished_at, j.summary, j.error
           FROM import_job j JOIN campaign c ON c.id = j.campaign_id LEFT JOIN lead_list l ON l.id = j.list_id
           ORDER BY j.id""")
    result = []
    for r in rows:
        d = dict(r)
        d["summary"] = json.loads(d["summary"]) if d["summary"] else None
        result.append(d)
    return result
