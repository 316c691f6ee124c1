"""The console in a real browser: Debian's Chromium, driven by Playwright, against a real
``skywarden serve --exercise`` on a free localhost port with its own log.

One exercise night (at 100x) serves the whole module, in the order the night goes: a viewer
early on (no approve button, and the API refuses the same request), the duty officer while
threats are up (keys, incident timeline, acknowledge, Russian), then the press office at the
end of the night: the night's summary, which the policy gives to two approvers, approved by
one and then a second, seen published by the press officer.

Screenshots (1366x768) go to ``$SKYWARDEN_SCREENSHOTS`` when set (``docs/`` keeps the ones the
README shows), else to a temporary folder.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from skywarden.service.console import console_built
from tests.test_service_basemap import make_pmtiles

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parent.parent
VIEWPORT = {"width": 1366, "height": 768}
SPEED = 100

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (apt-get install chromium)"),
    pytest.mark.skipif(not console_built(), reason="console not built: run make console"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (the test extra) is not installed")

# Flags for a headless Chromium on a machine with no network and no GPU: no background
# connections, software WebGL for the map.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--enable-unsafe-swiftshader",
    "--use-angle=swiftshader",
]


@dataclass
class Served:
    url: str
    users: dict[str, tuple[str, str]]  # user -> (role, password)
    log: Path

    def user_with(self, role: str, skip: int = 0) -> tuple[str, str]:
        names = [u for u, (r, _) in self.users.items() if r == role]
        assert len(names) > skip, f"the exercise users have no {skip + 1} users with role {role}: {self.users}"
        user = names[skip]
        return user, self.users[user][1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(path: Path) -> str:
    return path.read_text(errors="replace")[-3000:] if path.exists() else ""


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    here = tmp_path_factory.mktemp("serve")
    port = _free_port()
    out = here / "serve.out"
    make_pmtiles(here / "city.pmtiles")  # the city's offline basemap: grey raster tiles about Moscow
    cmd = [
        sys.executable, "-c", "from skywarden.cli import app; app()", "serve", "--exercise",
        "--speed", str(SPEED), "--log", str(here / "night.sqlite"), "--bind", f"127.0.0.1:{port}",
        "--basemap", str(here / "city.pmtiles"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO), "COLUMNS": "200"}
    with out.open("wb") as sink:
        proc = subprocess.Popen(cmd, cwd=here, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"skywarden serve exited with {proc.returncode}:\n{_tail(out)}")
            try:
                if httpx.get(f"{url}/api/night", timeout=2).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"skywarden serve did not answer within 120 s:\n{_tail(out)}")
            time.sleep(0.3)
        users_file = here / "exercise-users.toml"
        table = tomllib.loads(users_file.read_text())
        users = {u["user"]: (u["role"], u["password"]) for u in table["user"]}
        yield Served(url=url, users=users, log=here / "night.sqlite")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = os.environ.get("SKYWARDEN_SCREENSHOTS")
    if where:
        path = Path(where)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


def _page(browser: Any, served: Served) -> tuple[Any, list[str]]:
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    # Script errors count; a refused request ("Failed to load resource: 401/403") is what some
    # steps expect, and each test checks the answers it cares about itself.
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.goto(served.url + "/")
    return page, errors


def _login(page: Any, user: str, password: str) -> None:
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill(password)
    with page.expect_response(lambda r: r.url.endswith("/api/login"), timeout=30_000) as answer:
        page.get_by_test_id("login-submit").click()
    assert answer.value.status == 200, f"login of {user}: {answer.value.status} {answer.value.text()}"
    sync_api.expect(page.get_by_test_id("who")).to_contain_text(user, timeout=30_000)
    sync_api.expect(page.get_by_test_id("connection")).to_have_class(re.compile(r"c-live"), timeout=15_000)


def _clock_past(page: Any, hhmmss: str, timeout_s: float) -> None:
    page.wait_for_function(
        "t => (document.querySelector('[data-testid=clock]')?.textContent || '') >= t",
        arg=hhmmss,
        timeout=timeout_s * 1000,
    )


def test_wrong_password_is_refused_and_the_login_page_says_so(browser: Any, served: Served, shots: Path) -> None:
    page, errors = _page(browser, served)
    user, _ = served.user_with("viewer")
    page.get_by_test_id("login-user").fill(user)
    page.get_by_test_id("login-password").fill("not-the-password")
    page.get_by_test_id("login-submit").click()
    sync_api.expect(page.get_by_test_id("login-error")).to_have_text("Wrong user or password.")
    page.get_by_test_id("login-password").fill("")
    page.screenshot(path=str(shots / "console-login.png"))
    assert errors == []
    page.context.close()


def test_the_city_basemap_is_drawn_under_the_scenario_layers(browser: Any, served: Served) -> None:
    page, errors = _page(browser, served)
    tiles: list[tuple[int, str]] = []
    page.on("response", lambda r: tiles.append((r.status, r.headers.get("content-type", ""))) if "/api/basemap/" in r.url else None)
    user, password = served.user_with("viewer")
    _login(page, user, password)
    page.wait_for_function("() => !!window.__skywarden?.map?.getLayer('basemap')", timeout=30_000)
    page.wait_for_function("() => window.__skywarden.map.areTilesLoaded()", timeout=30_000)
    order = page.evaluate("() => window.__skywarden.map.getStyle().layers.map(l => l.id)")
    assert order.index("basemap") < order.index("districts-fill") < order.index("tracks")
    assert (200, "image/png") in tiles, tiles  # the tiles about the city came from the service
    assert all(status in (200, 204) for status, _ in tiles), tiles
    assert errors == []
    page.context.close()


def test_viewer_has_no_approve_button_and_the_api_refuses_the_same_request(browser: Any, served: Served) -> None:
    page, errors = _page(browser, served)
    user, password = served.user_with("viewer")
    _login(page, user, password)
    page.get_by_test_id("tab-statements").click()
    first = page.get_by_test_id("statement").first
    first.wait_for(timeout=120_000)  # the first draft comes with the first kills or restriction
    statement_id = first.get_attribute("data-statement")
    assert statement_id
    assert page.get_by_test_id("st-approve").count() == 0
    assert page.get_by_test_id("st-reject").count() == 0
    assert page.get_by_test_id("st-edit").count() == 0
    assert page.get_by_test_id("threat-ack").count() == 0
    assert page.get_by_test_id("kill-report").count() == 0
    # The same request the approve button would send, from the viewer's own browser session
    # with its CSRF token: the server refuses it.
    status = page.evaluate(
        """async (id) => {
            const me = await (await fetch('/api/me')).json();
            const all = await (await fetch('/api/statements')).json();
            const text_sha256 = all.find((s) => s.statement_id === id).text_sha256;
            const r = await fetch(`/api/statements/${id}/approve`, {
                method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': me.csrf},
                body: JSON.stringify({text_sha256}),
            });
            return r.status;
        }""",
        statement_id,
    )
    assert status == 403
    assert errors == []
    page.context.close()


def test_duty_officer_keys_incident_acknowledge_and_russian(browser: Any, served: Served, shots: Path) -> None:
    page, errors = _page(browser, served)
    user, password = served.user_with("duty_officer")
    _login(page, user, password)
    # Wait for a wave (several threats at once: they last a while), then slow the exercise
    # down so the threat is still up when the acknowledgement is taken.
    page.wait_for_function("() => document.querySelectorAll('[data-testid=threat-row]').length >= 5", timeout=180_000)
    page.get_by_test_id("exercise-speed").select_option("2")
    sync_api.expect(page.get_by_test_id("mode")).to_contain_text("×2", timeout=15_000)
    page.get_by_test_id("threat-row").first.wait_for(timeout=30_000)
    page.locator("body").press("j")  # the first threat, soonest to its zone
    selected = page.locator("[data-testid=threat-row].selected")
    sync_api.expect(selected).to_have_count(1)
    incident = selected.get_attribute("data-incident")
    assert incident
    page.locator("body").press("Enter")
    drawer = page.get_by_test_id("incident")
    sync_api.expect(drawer).to_be_visible()
    sync_api.expect(drawer).to_contain_text(incident)
    sync_api.expect(page.get_by_test_id("incident-timeline").locator("li").first).to_be_visible(timeout=15_000)
    page.wait_for_timeout(1500)  # the map's labels after the camera moved to the track
    page.screenshot(path=str(shots / "console-duty-officer.png"))
    page.locator("body").press("a")  # acknowledge the selected threat
    acked = page.locator(f"[data-testid=threat-row][data-incident='{incident}'] [data-testid=threat-acked]")
    sync_api.expect(acked).to_contain_text(user, timeout=20_000)
    page.locator("body").press("Escape")
    sync_api.expect(drawer).to_be_hidden()
    page.locator("body").press("?")
    sync_api.expect(page.get_by_test_id("help")).to_be_visible()
    page.locator("body").press("Escape")
    page.locator("body").press("l")  # Russian
    sync_api.expect(page.get_by_test_id("tab-statements")).to_contain_text("Сообщ.")
    sync_api.expect(page.get_by_test_id("who")).to_contain_text("Оперативный дежурный")
    page.locator("body").press("1")
    page.wait_for_timeout(500)
    page.screenshot(path=str(shots / "console-ru.png"))
    page.locator("body").press("l")
    sync_api.expect(page.get_by_test_id("tab-statements")).to_contain_text("Statements")
    page.get_by_test_id("exercise-speed").select_option(str(SPEED))
    sync_api.expect(page.get_by_test_id("mode")).to_contain_text(f"×{SPEED}", timeout=15_000)
    assert errors == []
    page.context.close()


def test_replay_slider_shows_an_earlier_moment(browser: Any, served: Served) -> None:
    page, errors = _page(browser, served)
    user, password = served.user_with("viewer")
    _login(page, user, password)
    _clock_past(page, "00:40:00", 120)
    page.locator("body").press("r")  # five minutes back
    banner = page.get_by_test_id("replay-banner")
    sync_api.expect(banner).to_be_visible(timeout=15_000)
    sync_api.expect(banner).to_contain_text("REPLAY")
    shown = page.get_by_test_id("replay-time").inner_text()
    assert re.fullmatch(r"\d\d:\d\d:\d\d", shown), shown
    page.get_by_test_id("replay-live").click()
    sync_api.expect(banner).to_be_hidden()
    assert errors == []
    page.context.close()


def test_two_approvers_publish_the_summary_the_press_officer_watches(browser: Any, served: Served, shots: Path) -> None:
    press, press_errors = _page(browser, served)
    press_user, press_pw = served.user_with("press_officer")
    _login(press, press_user, press_pw)
    sync_api.expect(press.get_by_test_id("tab-statements")).to_have_class(re.compile("active"))
    press.get_by_test_id("statement").first.wait_for(timeout=120_000)
    assert press.get_by_test_id("st-approve").count() == 0  # a press officer edits, never approves
    assert press.get_by_test_id("st-edit").count() > 0

    duty, duty_errors = _page(browser, served)
    duty_user, duty_pw = served.user_with("duty_officer")
    _login(duty, duty_user, duty_pw)
    # The summary is drafted a quarter of an hour before the night's end; the duty officer
    # slows the exercise down before then, and again once it is drafted, so the approvals are
    # taken while the night still runs.
    _clock_past(duty, "03:40:00", 240)
    duty.get_by_test_id("exercise-speed").select_option("10")
    sync_api.expect(duty.get_by_test_id("mode")).to_contain_text("×10", timeout=15_000)

    summary = press.locator("[data-testid=statement][data-topic=summary]")
    summary.wait_for(timeout=120_000)
    duty.get_by_test_id("exercise-speed").select_option("2")
    sync_api.expect(duty.get_by_test_id("mode")).to_contain_text("×2", timeout=15_000)
    sid = summary.get_attribute("data-statement")
    sync_api.expect(summary.get_by_test_id("statement-approvals")).to_contain_text("0 of 2")

    first, first_errors = _page(browser, served)
    a1, a1_pw = served.user_with("approver", 0)
    _login(first, a1, a1_pw)
    card1 = first.locator(f"[data-testid=statement][data-statement='{sid}']")
    card1.get_by_test_id("st-approve").click(timeout=60_000)
    sync_api.expect(first.locator(".toast").first).to_contain_text("Sent", timeout=10_000)
    sync_api.expect(summary).to_have_attribute("data-state", "partially_approved", timeout=20_000)
    sync_api.expect(summary.get_by_test_id("statement-approvals")).to_contain_text("1 of 2")
    sync_api.expect(card1.get_by_test_id("st-approve")).to_be_disabled()  # not twice by one approver

    second, second_errors = _page(browser, served)
    a2, a2_pw = served.user_with("approver", 1)
    _login(second, a2, a2_pw)
    second.locator(f"[data-testid=statement][data-statement='{sid}']").get_by_test_id("st-approve").click(timeout=60_000)
    sync_api.expect(second.locator(".toast").first).to_contain_text("Sent", timeout=10_000)
    sync_api.expect(summary).to_have_attribute("data-state", "published", timeout=20_000)
    sync_api.expect(summary.get_by_test_id("statement-state")).to_have_text("Published")
    sync_api.expect(summary.get_by_test_id("statement-approvals")).to_contain_text("2 of 2")
    summary.scroll_into_view_if_needed()
    press.screenshot(path=str(shots / "console-statements.png"))
    assert press_errors == [] and duty_errors == [] and first_errors == [] and second_errors == []
    for p in (press, duty, first, second):
        p.context.close()
