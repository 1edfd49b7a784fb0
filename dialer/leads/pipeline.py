"""The import pipeline: file -> validated staging CSV -> one database transaction.

1. prepare: find the campaign and list, read the mapping (flags, TOML file,
   template), sniff the file (encoding, delimiter, header) and check every
   mapped column exists. Any problem stops here, before anything is written.
2. parse: stream the file in batches; validate rows (dialer/leads/batch.py)
   in trio-parallel worker processes, since phonenumbers is CPU-bound; each
   batch's staging CSV goes straight to the load's COPY, so memory stays flat
   whatever the size and the COPY overlaps the parse.
3. load: one unit of work (dialer/store/imports.py), started before the parse,
   COPYs the batches into a staging table, then does wireless/DNC/duplicate/
   update/insert in ONE transaction: all or nothing.
4. report: the summary dict (the `--json` object) and, if asked, reject files
   written by a second streaming pass over the original file.
"""

from __future__ import annotations

import csv
import dataclasses
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Callable

import trio

from .batch import BatchResult, process_batch
from .mapping import Mapping, MappingError, field_name, mapping_from_data, resolve_columns
from .normalise import TimezoneRule, TimezoneRules, ValidationContext
from .rejects import RejectLog
from .reader import FileProblem, FileShape, file_size, iter_batches, open_text, sniff

DUP_SCOPES = ("none", "account", "campaign", "lists", "purpose")
DUP_ACTIONS = ("skip", "mark", "relocate")
DNC_ACTIONS = ("skip", "mark")
BATCH_ROWS = 5000
# Below this size worker processes cost more (start-up, pickling) than they save.
PARALLEL_MIN_BYTES = 4 * 1024 * 1024


class ImportProblem(ValueError):
    """An import that cannot run; the message names the option, column, row or line."""


@dataclass
class ImportRequest:
    path: str
    campaign: str
    list: str | None = None
    new_list: str | None = None
    map: dict[str, str] = field(default_factory=dict)           # file column -> field
    timezone_rules: list[dict] = field(default_factory=lambda: [])  # (`list` is a field name here)
    template: str | None = None
    save_mapping: str | None = None
    delimiter: str | None = None
    header: bool = True
    country: str | None = None
    strip_chars: str = ""
    dup_scope: str = "campaign"
    dup_lists: list[int] = field(default_factory=lambda: [])
    dup_action: str = "skip"
    dup_retain: str = "new"
    dnc_scope: str = "account"
    dnc_action: str = "skip"
    wireless: str = "keep"
    status_column: str | None = None
    called_count_column: str | None = None
    backup_status: str | None = None
    update_by_customer_key: bool = False
    dry_run: bool = False
    rejects: str | None = None
    separate_rejects: bool = False
    workers: int | None = None          # None: automatic (CPU count, 1 for small files)
    source: str = "import"

    def as_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "ImportRequest":
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Prepared:
    request: ImportRequest
    campaign: dict
    list: dict | None
    shape: FileShape
    columns: dict[str, int]
    context: ValidationContext
    mapping: Mapping


def parse_dup_scope(text: str) -> tuple[str, list[int]]:
    """`lists:3,4` -> ("lists", [3, 4])."""
    scope, _, rest = text.partition(":")
    if scope not in DUP_SCOPES:
        raise ImportProblem(f"--dup-scope {text!r}: expected one of none, account, campaign, lists:<id,id>, purpose")
    if scope == "lists":
        try:
            ids = [int(x) for x in rest.split(",") if x.strip()]
        except ValueError:
            raise ImportProblem(f"--dup-scope {text!r}: list ids must be numbers, e.g. lists:3,4") from None
        if not ids:
            raise ImportProblem(f"--dup-scope {text!r}: give the list ids, e.g. lists:3,4")
        return scope, ids
    if rest:
        raise ImportProblem(f"--dup-scope {text!r}: only lists takes ids")
    return scope, []


async def prepare(store, req: ImportRequest) -> Prepared:
    from dialer.store.campaigns import find_campaign
    from dialer.store.imports import load_template
    from dialer.store.lists import find_list

    if bool(req.list) == bool(req.new_list):
        raise ImportProblem("give exactly one of --list L or --new-list NAME")
    for name, value, allowed in (("--dup-scope", req.dup_scope, DUP_SCOPES),
                                 ("--dup-action", req.dup_action, DUP_ACTIONS),
                                 ("--dup-retain", req.dup_retain, ("new", "new+inbound")),
                                 ("--dnc-scope", req.dnc_scope, ("none", "account", "campaign")),
                                 ("--dnc-action", req.dnc_action, DNC_ACTIONS),
                                 ("--wireless", req.wireless, ("keep", "skip"))):
        if value not in allowed:
            raise ImportProblem(f"{name} {value!r}: expected one of {', '.join(allowed)}")
    campaign = await store.run(find_campaign, req.campaign)
    lst = await store.run(find_list, req.list, campaign["id"]) if req.list else None
    if lst is not None and lst["system"]:
        raise ImportProblem(f"list {lst['name']!r} is a system list; import into another list")
    if req.dup_scope == "lists":
        for list_id in req.dup_lists:
            await store.run(find_list, list_id)

    mapping = Mapping()
    if req.template:
        data = await store.run(load_template, req.template)
        if data is None:
            raise ImportProblem(f"--template {req.template!r}: no such mapping template")
        mapping = mapping_from_data(data, f"template {req.template!r}")
    extra = mapping_from_data({"map": req.map, "timezone_rules": req.timezone_rules}, "--mapping")
    mapping = mapping.merged(extra)
    shape = sniff(req.path, delimiter=req.delimiter, header=req.header)
    if not mapping.columns and shape.header is not None:
        # No mapping given: every header names its field (standard or custom).
        mapping.columns = {h: field_name(h) for h in shape.header if h}
    if req.status_column:
        mapping.columns[req.status_column] = "status"
    if req.called_count_column:
        mapping.columns[req.called_count_column] = "called_count"
    columns = resolve_columns(mapping, shape.header, shape.width, req.path)

    statuses = await store.fetch("SELECT code FROM lead_status WHERE campaign_id = $1", campaign["id"])
    codes = frozenset(r["code"].upper() for r in statuses)
    backup = req.backup_status.upper() if req.backup_status else None
    if backup and codes and backup not in codes:
        raise ImportProblem(f"--backup-status {req.backup_status!r} is not a status of campaign "
                           f"{campaign['name']!r} ({', '.join(sorted(codes))})")
    country = (req.country or campaign["country"]).upper()
    import phonenumbers
    if country not in phonenumbers.SUPPORTED_REGIONS:
        raise ImportProblem(f"--country {country!r} is not a country code phonenumbers knows (e.g. US, GB)")
    rules = TimezoneRules(mapping.timezone_rules)
    ctx = ValidationContext(country=country, campaign_timezone=campaign["timezone"], rules=rules,
                            strip_chars=req.strip_chars, statuses=codes, backup_status=backup)
    return Prepared(req, campaign, lst, shape, columns, ctx, mapping)


async def _parse_to_stream(prep: Prepared, send: trio.MemorySendChannel,
                           progress: Callable[[int], None] | None) -> dict:
    """Validate every row and send the staging CSV, batch by batch, to the
    loader's COPY (already running in the import's transaction); closes `send`
    when done. Returns counts and rejects."""
    req = prep.request
    workers = req.workers
    if workers is None:
        workers = (os.cpu_count() or 1) if file_size(req.path) >= PARALLEL_MIN_BYTES else 1
    has_status = "status" in prep.columns
    has_count = "called_count" in prep.columns
    totals = {"rows": 0, "good": 0, "warnings": 0, "rejects": RejectLog(), "warning_samples": []}

    async def collect(start: int, n: int, res: BatchResult) -> None:
        totals["rows"] += n
        totals["good"] += res.good
        totals["warnings"] += res.warnings
        totals["rejects"].add_segment(res.rejects)
        if len(totals["warning_samples"]) < 20:
            totals["warning_samples"].extend(res.warning_samples)
        if res.stage_csv:   # batches arrive in any order: staging rows carry their row number
            await send.send(res.stage_csv.encode("utf-8"))

    batches = iter_batches(req.path, prep.shape, BATCH_ROWS, progress)
    args = (prep.context, prep.columns, prep.shape.width, has_status, has_count)
    if workers <= 1:
        for start, rows in batches:
            await collect(start, len(rows), process_batch(*args, start, rows))
            await trio.sleep(0)   # let the loader's COPY take the batch
    else:
        import trio_parallel

        limiter = trio.CapacityLimiter(workers)
        in_flight = trio.Semaphore(workers * 2)   # bounds memory: at most this many batches held

        async def one(start: int, rows: list[list[str]]) -> None:
            try:
                res = await trio_parallel.run_sync(process_batch, *args, start, rows, limiter=limiter)
                await collect(start, len(rows), res)
            finally:
                in_flight.release()

        async with trio.open_nursery() as nursery:
            for start, rows in batches:
                await in_flight.acquire()
                nursery.start_soon(one, start, rows)
    if totals["rows"] == 0:
        raise FileProblem(f"{req.path}: no data rows" + (" after the header" if req.header else ""))
    # Only a whole, good parse ends the COPY. On any error above the channel
    # stays open, so the loader cannot go on to commit: it waits until the
    # nursery cancels it, and its transaction rolls back.
    await send.aclose()
    return totals


async def run_import(store, req: ImportRequest, progress: Callable[[int], None] | None = None,
                     prepared: Prepared | None = None) -> dict:
    """Run one import; returns the summary (see docs/IMPORT.md). Raises
    ImportProblem/FileProblem/MappingError/NotFound for bad input, before writing."""
    from dialer.store.bridge import TrioStream
    from dialer.store.imports import DryRun, ImportRefused, load_import, save_template

    started = time.perf_counter()
    prep = prepared or await prepare(store, req)
    plan = {"campaign_id": prep.campaign["id"], "list_id": prep.list["id"] if prep.list else None,
            "new_list_name": req.new_list, "dup_scope": req.dup_scope, "dup_lists": req.dup_lists,
            "dup_action": req.dup_action, "dup_retain": req.dup_retain, "dnc_scope": req.dnc_scope,
            "dnc_action": req.dnc_action, "wireless": req.wireless,
            "update_by_key": req.update_by_customer_key, "dry_run": req.dry_run, "source": req.source}
    # The load's transaction opens first and COPYs each batch into staging as
    # the parser hands it over, so the COPY overlaps the parse; the rest of the
    # load (DNC, duplicates, insert) starts when the last batch is in.
    send, receive = trio.open_memory_channel(4)
    stream = TrioStream(receive)
    parsed: dict = {}
    loaded: dict = {}
    times = {}

    async def parse() -> None:
        parsed.update(await _parse_to_stream(prep, send, progress))
        times["parsed"] = time.perf_counter()

    async def load() -> None:
        try:
            loaded.update(await store.run(load_import, stream, plan))
        except DryRun as dry:
            loaded.update(dry.result)
        except ImportRefused:
            raise
        except Exception as exc:  # the database said no: one transaction, so nothing stays
            raise ImportProblem(f"{req.path}: the import failed in the database and was rolled back, "
                                f"nothing was written ({type(exc).__name__}: {exc})") from exc

    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(load)
            nursery.start_soon(parse)
    except BaseExceptionGroup as group:
        raise _first_cause(group) from None
    parsed_at = times["parsed"]
    loaded_at = time.perf_counter()
    if req.save_mapping and not req.dry_run:
        m = prep.mapping
        await store.run(save_template, req.save_mapping, m.columns, [r.as_dict() for r in m.timezone_rules], {})

    rejects: RejectLog = parsed["rejects"]
    invalid = rejects.count
    rejects.add_segment(loaded["rejected"])   # sorted by row number, detail = the phone
    loaded["rejected"] = None
    summary = {
        "rows": parsed["rows"],
        "imported": loaded["imported"],
        "updated": loaded["updated"],
        "invalid": invalid,
        "duplicates": loaded["duplicates"],
        "dnc": loaded["dnc"],
        "wireless": loaded["wireless"],
        "warnings": parsed["warnings"],
        "seconds": 0.0,
        "reasons": rejects.reasons(),
        "rejected": rejects.count,
        "relocated": loaded["relocated"],
        "campaign": prep.campaign["name"],
        "list_id": loaded["list_id"] if not req.dry_run else (prep.list["id"] if prep.list else None),
        "list": prep.list["name"] if prep.list else req.new_list,
        "dry_run": req.dry_run,
        "warning_samples": [f"row {r}: {w}" for r, w in parsed["warning_samples"][:20]],
    }
    if req.rejects:
        summary["reject_files"] = write_rejects(req, prep.shape, rejects)
    if req.dry_run:
        summary["first_rejects"] = first_rejects(req, prep.shape, rejects, 10)
    summary["seconds"] = round(time.perf_counter() - started, 3)
    summary["phases"] = {"parse": round(parsed_at - started, 3), "load": round(loaded_at - parsed_at, 3),
                         "report": round(time.perf_counter() - loaded_at, 3),
                         "database_steps": loaded.get("steps", {}),
                         "fk_checks": loaded.get("fk_checks", "per row")}
    return summary


def _first_cause(group: BaseExceptionGroup) -> BaseException:
    """What went wrong first: the parser's or the loader's own error, not the
    cancellation it caused in the other task."""
    errors = [e for e in _leaves(group) if not isinstance(e, trio.Cancelled)]
    return errors[0] if len(errors) == 1 else group


def _leaves(exc: BaseException):
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            yield from _leaves(inner)
    else:
        yield exc


def iter_rows(path: str, shape: FileShape):
    """(data-row number, raw row) with the same numbering as reader.iter_batches."""
    for start, rows in iter_batches(path, shape, BATCH_ROWS):
        for offset, row in enumerate(rows):
            yield start + offset, row


def reject_paths(req: ImportRequest) -> dict[str, str]:
    base, ext = os.path.splitext(req.rejects)
    ext = ext or ".csv"
    if not req.separate_rejects:
        return {"other": req.rejects}
    return {"other": req.rejects, "dnc": f"{base}.dnc{ext}", "duplicate": f"{base}.duplicates{ext}"}


def write_rejects(req: ImportRequest, shape: FileShape, rejects: RejectLog) -> dict[str, str]:
    """Every rejected row as it was in the file, plus a `reason` column; with
    --separate-rejects, DNC and duplicate rejects get files of their own."""
    paths = reject_paths(req)
    files, writers = {}, {}
    try:
        for kind, path in paths.items():
            files[kind] = open(path, "w", encoding="utf-8", newline="")
            writers[kind] = csv.writer(files[kind], delimiter=shape.delimiter)
            header = shape.header or [f"column_{i + 1}" for i in range(shape.width)]
            writers[kind].writerow([*header, "reason"])
        if rejects.count:
            # Both in row order: walk the file and the rejects side by side.
            wanted = rejects.iter_sorted()
            next_reject = next(wanted, None)
            for row_no, row in iter_rows(req.path, shape):
                if next_reject is None:
                    break
                if row_no != next_reject[0]:
                    continue
                _, reason, detail = next_reject
                next_reject = next(wanted, None)
                kind = "other"
                if req.separate_rejects and reason in ("dnc", "duplicate", "duplicate_customer_key"):
                    kind = "dnc" if reason == "dnc" else "duplicate"
                writers[kind].writerow([*row, f"{reason}: {detail}" if detail else reason])
    finally:
        for f in files.values():
            f.close()
    return paths


def first_rejects(req: ImportRequest, shape: FileShape, rejects: RejectLog, n: int) -> list[dict]:
    wanted = {row: (reason, detail) for row, reason, detail in itertools.islice(rejects.iter_sorted(), n)}
    found = []
    if not wanted:
        return found
    last = max(wanted)
    for row_no, row in iter_rows(req.path, shape):
        if row_no in wanted:
            reason, detail = wanted[row_no]
            found.append({"row": row_no, "reason": reason, "detail": detail, "values": row})
        if row_no >= last:
            break
    return found


def rules_from_config(rules: list) -> list[dict]:
    """[[timezone_rules]] from a dialer config (TimezoneRule dataclasses) as dicts."""
    out = []
    for r in rules:
        data = {k: getattr(r, k) for k in ("zone", "region", "postal_prefix", "area_code") if getattr(r, k, None)}
        TimezoneRule.from_mapping(data)
        out.append(data)
    return out
