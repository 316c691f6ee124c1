"""Serving the console: the built page and assets, a clear message when they are not built,
and the console's own JavaScript checks (node --test) where Node.js is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from skywarden.service.console import CONSOLE_NOT_BUILT, console_built, mount_console

REPO = Path(__file__).resolve().parent.parent


def _app(static: Path) -> TestClient:
    app = FastAPI()

    @app.get("/api/ping")
    def ping() -> dict[str, bool]:
        return {"pong": True}

    mount_console(app, static)
    return TestClient(app)


def test_missing_console_says_how_to_build_it(tmp_path: Path) -> None:
    client = _app(tmp_path / "static")
    page = client.get("/")
    assert page.status_code == 503
    assert CONSOLE_NOT_BUILT in page.text
    asset = client.get("/assets/app.js")
    assert asset.status_code == 404
    assert asset.text == CONSOLE_NOT_BUILT
    assert client.get("/api/ping").json() == {"pong": True}  # the API is untouched


def test_built_console_is_served_with_a_strict_policy(tmp_path: Path) -> None:
    static = tmp_path / "static"
    (static / "assets" / "fonts").mkdir(parents=True)
    (static / "index.html").write_text("<!doctype html><title>Skywarden</title>")
    (static / "assets" / "app.js").write_text("export {};")
    (static / "assets" / "fonts" / "f.woff2").write_bytes(b"wOF2")
    assert console_built(static)
    client = _app(static)
    page = client.get("/")
    assert page.status_code == 200
    assert "Skywarden" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "connect-src 'self'" in csp
    js = client.get("/assets/app.js")
    assert js.status_code == 200 and js.text == "export {};"
    assert "javascript" in js.headers["content-type"]
    assert client.get("/assets/fonts/f.woff2").content == b"wOF2"
    assert client.get("/assets/nothing.js").status_code == 404
    assert client.get("/assets/../index.html").status_code == 404
    assert client.get("/api/ping").json() == {"pong": True}


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed (the console's build needs it)")
def test_console_javascript_checks() -> None:
    run = subprocess.run(["node", "--test", "console/test/"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "# fail 0" in run.stdout
