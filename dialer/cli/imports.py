"""`dialer import FILE ...` and `dialer imports list|run-due`."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import zoneinfo

from .common import CliError, add_json_flag, print_json, print_table, run, store_for


def register(sub) -> None:
    p = sub.add_parser("import", help="import leads from a CSV or tab-delimited file (all or nothing)")
    p.add_argument("file")
    p.add_argument("--campaign", required=True, help="campaign name or id")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--list", help="existing list (name or id)")
    target.add_argument("--new-list", metavar="NAME", help="create this list (only if the import succeeds)")
    p.add_argument("--map", action="append", default=[], metavar="\"COL=field,...\"",
                   help="column to field mapping; repeatable")
    p.add_argument("--mapping", metavar="FILE.toml", help="mapping file: [map] table, [[timezone_rules]]")
    p.add_argument("--template", metavar="NAME", help="use a saved mapping template")
    p.add_argument("--save-mapping", metavar="NAME", help="save the mapping used as a template")
    p.add_argument("--delimiter", help="field delimiter (default: detected; use '\\t' for tab)")
    p.add_argument("--no-header", action="store_true", help="no header row: map columns by position 1, 2, ...")
    p.add_argument("--country", help="parse numbers as dialed from this country (default: the campaign's)")
    p.add_argument("--strip-chars", default="", metavar="CHARS",
                   help="characters removed from text fields, e.g. '&*' (default: none)")
    p.add_argument("--dup-scope", default="campaign", metavar="none|account|campaign|lists:<id,id>|purpose",
                   help="where to look for duplicates besides the file itself (default campaign)")
    p.add_argument("--dup-action", default="skip", choices=["skip", "mark", "relocate"])
    p.add_argument("--dup-retain", default="new", choices=["new", "new+inbound"],
                   help="with relocate: also keep older inbound leads where they are")
    p.add_argument("--dnc-scope", default="account", choices=["none", "account", "campaign"])
    p.add_argument("--dnc-action", default="skip", choices=["skip", "mark"])
    p.add_argument("--separate-rejects", action="store_true",
                   help="DNC and duplicate rejects go to FILE.dnc.csv and FILE.duplicates.csv")
    p.add_argument("--wireless", default="keep", choices=["keep", "skip"])
    p.add_argument("--status-column", metavar="COL", help="column holding status abbreviations")
    p.add_argument("--called-count-column", metavar="COL", help="column holding call counts")
    p.add_argument("--backup-status", metavar="S", help="status for abbreviations that match none")
    p.add_argument("--update-by-customer-key", action="store_true",
                   help="rows whose customer_key is in the list update that lead")
    p.add_argument("--process-after", metavar="HH:MM", help="queue as a job run after this campaign-local time")
    p.add_argument("--dry-run", action="store_true", help="do everything but write")
    p.add_argument("--rejects", metavar="FILE", help="write rejected rows (as they were) plus a reason column")
    p.add_argument("--workers", type=int, help="parser processes (default: CPU count for large files)")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_import, a))

    jobs = sub.add_parser("imports", help="queued imports: list, run-due")
    jsub = jobs.add_subparsers(dest="imports_command", metavar="ACTION", required=True)
    p = jsub.add_parser("list", help="import jobs and their summaries")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_jobs_list, a))
    p = jsub.add_parser("run-due", help="run the queued imports whose time has come")
    add_json_flag(p)
    p.set_defaults(func=lambda a: run(_run_due, a))


def request_from_args(args):
    from dialer.leads.mapping import MappingError, load_mapping_file, parse_map
    from dialer.leads.pipeline import ImportProblem, ImportRequest, parse_dup_scope

    try:
        columns: dict[str, str] = {}
        rules: list[dict] = []
        if args.mapping:
            m = load_mapping_file(args.mapping)
            columns.update(m.columns)
            rules = [r.as_dict() for r in m.timezone_rules]
        for text in args.map:
            columns.update(parse_map(text))
        scope, ids = parse_dup_scope(args.dup_scope)
    except (MappingError, ImportProblem) as exc:
        raise CliError(str(exc)) from None
    delimiter = args.delimiter
    if delimiter in ("\\t", "tab", "TAB"):
        delimiter = "\t"
    if delimiter is not None and len(delimiter) != 1:
        raise CliError(f"--delimiter {args.delimiter!r}: must be one character (or '\\t')")
    return ImportRequest(
        path=os.path.abspath(args.file), campaign=args.campaign, list=args.list, new_list=args.new_list,
        map=columns, timezone_rules=rules, template=args.template, save_mapping=args.save_mapping,
        delimiter=delimiter, header=not args.no_header, country=args.country, strip_chars=args.strip_chars,
        dup_scope=scope, dup_lists=ids, dup_action=args.dup_action, dup_retain=args.dup_retain,
        dnc_scope=args.dnc_scope, dnc_action=args.dnc_action, wireless=args.wireless,
        status_column=args.status_column, called_count_column=args.called_count_column,
        backup_status=args.backup_status, update_by_customer_key=args.update_by_customer_key,
        dry_run=args.dry_run, rejects=args.rejects, separate_rejects=args.separate_rejects,
        workers=args.workers)


@contextlib.contextmanager
def input_errors():
    """Turn import input problems into CliError (exit 2, message names row/column/line)."""
    from dialer.leads.errors import INPUT_ERRORS

    try:
        yield
    except INPUT_ERRORS as exc:
        raise CliError(str(exc)) from None


class ProgressBar:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, total: int):
        self.total = max(total, 1)
        self.enabled = sys.stderr.isatty()

    def __call__(self, done: int) -> None:
        if not self.enabled:
            return
        frac = min(done / self.total, 1.0)
        bar = "#" * int(frac * 30)
        sys.stderr.write(f"\rreading [{bar:<30}] {frac * 100:5.1f}%  {done / 1e6:.1f}/{self.total / 1e6:.1f} MB")
        sys.stderr.flush()

    def done(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 70 + "\r")
            sys.stderr.flush()


def next_local_time(hhmm: str, zone: str, now: dt.datetime | None = None) -> dt.datetime:
    """The next time the campaign's clock shows HH:MM (today or tomorrow), as UTC."""
    try:
        hours, minutes = (int(x) for x in hhmm.split(":"))
        local_time = dt.time(hours, minutes)
    except ValueError:
        raise CliError(f"--process-after {hhmm!r}: expected HH:MM (24-hour, campaign-local)") from None
    tz = zoneinfo.ZoneInfo(zone)
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(tz)
    when = dt.datetime.combine(now.date(), local_time, tzinfo=tz)
    if when <= now:
        when = dt.datetime.combine(now.date() + dt.timedelta(days=1), local_time, tzinfo=tz)
    return when.astimezone(dt.timezone.utc)


async def _import(args) -> int:
    from dialer.leads.pipeline import prepare, run_import
    from dialer.leads.reader import file_size
    from dialer.store.imports import queue_job

    req = request_from_args(args)
    async with store_for(args) as store:
        with input_errors():
            prep = await prepare(store, req)
            if args.process_after:
                when = next_local_time(args.process_after, prep.campaign["timezone"])
                job_id = await store.run(queue_job, prep.campaign["id"], prep.list["id"] if prep.list else None,
                                         req.new_list, req.path, req.as_json(), when)
                if args.json:
                    print_json({"job": job_id, "status": "queued", "process_after": when})
                else:
                    print(f"queued import job {job_id}: runs after {when.astimezone(zoneinfo.ZoneInfo(prep.campaign['timezone'])):%Y-%m-%d %H:%M %Z} "
                          "(dialer imports run-due, or the daemon)")
                return 0
            bar = ProgressBar(file_size(req.path))
            try:
                summary = await run_import(store, req, bar, prepared=prep)
            finally:
                bar.done()
    if args.json:
        print_json(summary)
    else:
        print_summary(summary)
    return 0


def print_summary(s: dict) -> None:
    verb = "would import" if s["dry_run"] else "imported"
    print(f"{verb} {s['imported']} new leads into list {s['list']!r} of campaign {s['campaign']!r}"
          f" ({s['rows']} rows read in {s['seconds']:.1f} s)")
    print(f"  updated {s['updated']}, invalid {s['invalid']}, duplicates {s['duplicates']}"
          f" (relocated {s['relocated']}), DNC {s['dnc']}, wireless {s['wireless']}, warnings {s['warnings']}")
    for reason, n in s["reasons"].items():
        print(f"  rejected {n:>8}  {reason}")
    for w in s.get("warning_samples", [])[:5]:
        print(f"  warning: {w}")
    for kind, path in (s.get("reject_files") or {}).items():
        print(f"  rejects ({kind}): {path}")
    if s.get("first_rejects"):
        print("first rejected rows:")
        for r in s["first_rejects"]:
            print(f"  row {r['row']}: {r['reason']}{': ' + r['detail'] if r['detail'] else ''}  {r['values']}")
    if s["dry_run"]:
        print("dry run: nothing was written")


async def _jobs_list(args) -> int:
    from dialer.store.imports import list_jobs

    async with store_for(args) as store:
        jobs = await store.run(list_jobs)
    if args.json:
        print_json(jobs)
        return 0
    for j in jobs:
        s = j["summary"] or {}
        j["result"] = (f"{s.get('imported', 0)} imported, {s.get('rejected', 0)} rejected" if s else (j["error"] or "-"))
    print_table(jobs, ["id", "campaign", "list", "status", "process_after", "finished_at", "result", "filename"])
    return 0


async def run_due_jobs(store) -> list[dict]:
    """Run every queued job whose time has come (also used by the daemon)."""
    from dialer.leads.errors import INPUT_ERRORS
    from dialer.leads.pipeline import ImportRequest, run_import
    from dialer.store.campaigns import NotFound
    from dialer.store.imports import claim_due_job, finish_job

    done = []
    while True:
        job = await store.run(claim_due_job)
        if job is None:
            return done
        req = ImportRequest.from_json(job["options"])
        try:
            summary = await run_import(store, req)
        except (*INPUT_ERRORS, NotFound, OSError) as exc:
            await store.run(finish_job, job["id"], None, str(exc))
            done.append({"job": job["id"], "status": "failed", "error": str(exc)})
        else:
            await store.run(finish_job, job["id"], summary, None)
            done.append({"job": job["id"], "status": "done", "summary": summary})


async def _run_due(args) -> int:
    async with store_for(args) as store:
        done = await run_due_jobs(store)
    if args.json:
        print_json({"jobs": done})
    elif not done:
        print("no import jobs are due")
    for d in done if not args.json else ():
        if d["status"] == "done":
            print(f"job {d['job']}: imported {d['summary']['imported']} leads ({d['summary']['rejected']} rejected)")
        else:
            print(f"job {d['job']}: failed: {d['error']}")
    return 1 if any(d["status"] == "failed" for d in done) else 0
