"""The pages: static HTML + one small vanilla-JS file each, all served by the daemon.

Pages are public (they hold no data); every figure on them comes from the
JSON API with the user's session, so the pages get exactly the permissions of
the API.
"""

from __future__ import annotations

from importlib import resources

from starlette.responses import HTMLResponse, RedirectResponse

from .routing import PUBLIC, Ctx, Registry

routes = Registry("pages")

PAGES = {"login": "Log in", "operator": "Operator desktop", "validator": "Validation queue",
         "wallboard": "Wallboard", "leads": "Leads", "lists": "Campaign lists",
         "imports": "Import and bulk edit"}


def _page(name: str) -> str:
    return resources.files("dialer.api").joinpath("static", f"{name}.html").read_text("utf-8")


@routes.route("GET", "/", roles=PUBLIC, summary="Home: sends you to the login page", produces="text/html")
async def home(ctx: Ctx):
    return RedirectResponse("/login", status_code=303)


def _page_handler(name: str):
    async def page(ctx: Ctx):
        return HTMLResponse(_page(name), headers={"Cache-Control": "no-cache"})

    page.__name__ = f"page_{name}"
    return page


for _name, _title in PAGES.items():
    routes.route("GET", f"/{_name}", roles=PUBLIC, summary=f"Page: {_title}", produces="text/html")(
        _page_handler(_name))
