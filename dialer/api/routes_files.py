"""Supervisor uploads: lead import (mapping, preview, summary) and bulk edit (preview, typed confirmation).

Files travel as text inside a JSON body (`content`), read by the page with
FileReader: one body parser, one size limit (Settings.max_upload_bytes, 413
past it). The work is the import and lifecycle branches' own pipeline and
units, exactly as `dialer leads import` and `dialer leads bulk-edit` run them.
"""

from __future__ import annotations

import os
import tempfile

import trio

from dialer.leads.errors import INPUT_ERRORS
from dialer.leads.mapping import MappingError
from dialer.leads.mapping import parse_map as parse_import_map
from dialer.lifecycle.bulk_edit import parse_edit_text
from dialer.lifecycle.bulk_edit import parse_map as parse_edit_map
from dialer.store.bulk_edit import apply_bulk_edit, plan_bulk_edit
from dialer.store.campaigns import find_campaign

from .errors import bad_request
from .routes_auth import text_field
from .routing import SUPERVISORS, Ctx, Registry

routes = Registry("files")

IMPORT_OPTIONS = {
    "list": str, "new_list": str, "country": str, "delimiter": str, "header": bool,
    "dup_scope": str, "dup_action": str, "dup_retain": str, "dnc_scope": str, "dnc_action": str,
    "wireless": str, "update_by_customer_key": bool, "template": str, "status_column": str,
}
IMPORT_BODY = {"type": "object", "required": ["filename", "content", "map"], "properties": {
    "filename": {"type": "string"}, "content": {"type": "string", "description": "the file's text"},
    "map": {"description": "COLUMN=FIELD,... or {column: field}",
            "oneOf": [{"type": "string"}, {"type": "object", "additionalProperties": {"type": "string"}}]},
    "preview": {"type": "boolean", "description": "dry run: validate and count, write nothing"},
    **{k: {"type": "boolean" if t is bool else "string"} for k, t in IMPORT_OPTIONS.items()}}}


def _content(body: dict) -> str:
    content = body.get("content")
    if not isinstance(content, str) or not content.strip():
        raise bad_request("content: the file's text is required (and not empty)", "content")
    return content


@routes.route("POST", "/api/campaigns/{ref}/imports", roles=SUPERVISORS, upload=True, body=IMPORT_BODY,
              summary="Import a lead file: mapping, preview (dry run) and summary")
async def import_leads(ctx: Ctx):
    from dialer.leads.pipeline import ImportRequest, parse_dup_scope, run_import

    body = await ctx.json()
    filename = os.path.basename(text_field(body, "filename", limit=255))
    content = _content(body)
    mapping = body.get("map")
    try:
        if isinstance(mapping, str):
            columns = parse_import_map(mapping)
        elif isinstance(mapping, dict) and all(isinstance(v, str) for v in mapping.values()):
            columns = parse_import_map(",".join(f"{k}={v}" for k, v in mapping.items()))
        else:
            raise bad_request("map: COLUMN=FIELD,... or an object {column: field}", "map")
    except MappingError as exc:
        raise bad_request(f"map: {exc}", "map") from None
    options = {}
    for key, kind in IMPORT_OPTIONS.items():
        if body.get(key) is not None:
            if not isinstance(body[key], kind):
                raise bad_request(f"{key}: must be {'true or false' if kind is bool else 'a string'}", key)
            options[key] = body[key]
    preview = body.get("preview", False)
    if not isinstance(preview, bool):
        raise bad_request("preview: must be true or false", "preview")
    camp = await ctx.store.run(find_campaign, ctx.param("ref"))
    header = options.pop("header", True)
    try:
        scope, lists = parse_dup_scope(options.pop("dup_scope", "campaign"))
    except INPUT_ERRORS as exc:
        raise bad_request(str(exc), "dup_scope") from None
    path = await trio.to_thread.run_sync(_spool, filename, content)
    try:
        req = ImportRequest(path=path, campaign=str(camp["id"]), map=columns, header=header, dup_scope=scope,
                            dup_lists=lists, dry_run=preview, source=f"web:{ctx.user['name']}", **options)
        try:
            summary = await run_import(ctx.store, req)
        except INPUT_ERRORS as exc:
            raise bad_request(str(exc).replace(path, filename)) from None
    finally:
        os.unlink(path)
    summary["filename"] = filename
    return summary


def _spool(filename: str, content: str) -> str:
    """Write the upload where the pipeline reads files from; the caller deletes it."""
    suffix = os.path.splitext(filename)[1][:10] or ".csv"
    fd, path = tempfile.mkstemp(prefix="dialer-upload-", suffix=suffix, dir=os.environ.get("DIALER_SPOOL_DIR"))
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(content)
    return path


BULK_BODY = {"type": "object", "required": ["content", "map"], "properties": {
    "content": {"type": "string", "description": "CSV text with a header line"},
    "map": {"type": "string", "description": "e.g. \"Lead ID=id,Email=email,Notes=-\""},
    "preview": {"type": "boolean"},
    "confirm": {"type": "integer", "description": "must equal the number of leads that will change"}}}


@routes.route("POST", "/api/campaigns/{ref}/bulk-edit", roles=SUPERVISORS, upload=True, body=BULK_BODY,
              summary="Bulk edit leads from a file: preview, then apply with a typed confirmation")
async def bulk_edit(ctx: Ctx):
    body = await ctx.json()
    content = _content(body)
    rows = parse_edit_text(content, parse_edit_map(text_field(body, "map", limit=2000)), "upload")
    preview, confirm = body.get("preview", False), body.get("confirm")
    if preview is True:
        if confirm is not None:
            raise bad_request("confirm: not with preview", "confirm")
    elif isinstance(confirm, bool) or not isinstance(confirm, int):
        raise bad_request("confirm: the number of leads that will change (see the preview), or preview: true",
                          "confirm")
    camp = await ctx.store.run(find_campaign, ctx.param("ref"))
    if preview is True:
        plan = await ctx.store.run(plan_bulk_edit, camp["id"], rows)
    else:
        plan = await ctx.store.run(apply_bulk_edit, camp["id"], rows, confirm, ctx.user["name"], ctx.api.now())
    return {"applied": preview is not True, **plan.summary()}
