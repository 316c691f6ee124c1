"""Serving the browser console: the assets ``make console`` builds into ``static/``.

``mount_console(app)`` adds ``GET /`` (the page) and ``/assets/*`` (script, styles, fonts,
MapLibre's worker). When the assets have not been built, both answer with a plain message that
says how to build them, instead of a bare 404.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

__all__ = ["CONSOLE_NOT_BUILT", "STATIC_DIR", "console_built", "mount_console"]

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONSOLE_NOT_BUILT = "console not built: run make console"

# The page loads only what this process serves: no CDN, no tiles, no fonts from elsewhere.
# Styles allow inline attributes (the map library and the legend set element styles).
_CSP = (
    "default-src 'self'; script-src 'self'; worker-src 'self'; connect-src 'self'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; font-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
_PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def console_built(static_dir: Path = STATIC_DIR) -> bool:
    """True when the page and its bundle are there."""
    return (static_dir / "index.html").is_file() and (static_dir / "assets" / "app.js").is_file()


def _not_built_page() -> HTMLResponse:
    body = (
        "<!doctype html><html lang=en><meta charset=utf-8><title>Skywarden</title>"
        "<body style='font:16px system-ui;background:#0a1016;color:#dfe8f1;padding:40px'>"
        f"<h1 style='font-size:20px'>{CONSOLE_NOT_BUILT}</h1>"
        "<p>The API answers under <code>/api</code>; its documentation is at "
        "<a style='color:#3fa7ff' href='/docs'>/docs</a>.</p></body></html>"
    )
    return HTMLResponse(body, status_code=503, headers={"Cache-Control": "no-store"})


class _ConsoleAssets(StaticFiles):
    """Static files that say how to build them when they are missing, and are revalidated
    (ETag) on each load so a rebuilt console is picked up without a stale cache."""

    def __init__(self, static_dir: Path) -> None:
        super().__init__(directory=static_dir / "assets", check_dir=False)
        self.static_dir = static_dir

    async def check_config(self) -> None:
        if console_built(self.static_dir):  # else get_response says how to build it
            await super().check_config()

    async def get_response(self, path: str, scope: Scope) -> Response:
        if not console_built(self.static_dir):
            return Response(CONSOLE_NOT_BUILT, status_code=404, media_type="text/plain")
        response = await super().get_response(path, scope)
        response.headers.setdefault("Cache-Control", "no-cache")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        return response


def mount_console(app: FastAPI, static_dir: Path | None = None) -> None:
    """Serve the console at ``/`` and its assets at ``/assets`` on ``app``.

    Only those two paths are taken, so the order relative to the API's routes does not matter.
    """
    directory = static_dir or STATIC_DIR

    async def console_page() -> Response:
        if not console_built(directory):
            return _not_built_page()
        return FileResponse(directory / "index.html", media_type="text/html", headers=_PAGE_HEADERS)

    app.add_api_route("/", console_page, methods=["GET"], include_in_schema=False)
    app.mount("/assets", _ConsoleAssets(directory), name="console-assets")
