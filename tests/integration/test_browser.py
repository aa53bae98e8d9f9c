"""The two pages in a real browser (headless Chromium through Selenium and the system's
chromedriver): the bring-up timeline, and the discovery dashboard following the stack live."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Project, free_port

pytestmark = [pytest.mark.docker, pytest.mark.browser]
REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("BOOTSTRAP_ARTIFACTS", REPO / ".bootstrap" / "artifacts"))


@pytest.fixture
def browser() -> Iterator[object]:
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (.ci/run installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--window-size=1200,800",
    ):
        options.add_argument(flag)
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield session
    finally:
        session.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(session: Any, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    session.save_screenshot(str(path))
    return path


TOKEN = "dash-token-1"


def post_json(port: int, path: str, body: object) -> None:
    """POST ``body`` as JSON to the discovery service published on ``port``, as the stack's
    writers do (its token as a bearer); 200 expected."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200


def test_timeline_page_has_a_row_per_service_and_the_critical_chain(
    browser: Any, make_project: Callable[..., Project]
) -> None:
    from selenium.webdriver.common.by import By

    p = make_project("converge")
    (p.directory / ".env").write_text("POSTGRES_PASSWORD=timeline-pw-0123456789\n")
    assert p.run("up", "--timeout", "120").returncode == 0
    page = p.directory / "timeline.html"
    assert p.run("trace", "--html", str(page)).returncode == 0
    browser.get(page.as_uri())
    rows = browser.find_elements(By.CSS_SELECTOR, "g[data-service]")
    assert sorted(r.get_attribute("data-service") for r in rows) == [
        "db",
        "files",
        "metrics",
        "web",
    ]
    critical = browser.find_elements(By.CSS_SELECTOR, "g.critical")
    assert critical and all(c.get_attribute("data-service") for c in critical)
    assert (
        browser.find_element(By.CSS_SELECTOR, "g[data-service=db] rect.engine").size["width"] >= 1
    )
    assert shot(browser, "timeline.png").stat().st_size > 1000


def test_dashboard_follows_a_container_going_down_and_up_without_reload(
    browser: Any, make_project: Callable[..., Project]
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    port = free_port(7000, 7099)
    p = make_project(
        "discovery",
        REPO_ROOT=str(REPO),
        POSTGRES_PASSWORD="dash-pw-1",
        DISCOVERY_HOST_PORT=str(port),
        DISCOVERY_TOKEN=TOKEN,
    )
    assert p.compose("build", "discovery", "docker-proxy", "mcp").returncode == 0
    assert p.run("up", "--timeout", "240", timeout=900).returncode == 0
    browser.get(f"http://127.0.0.1:{port}/")
    browser.execute_script("window.loadedOnce = 'yes';")

    def status(service: str) -> str:
        """Read in one script: the page re-renders rows, so a found element can go stale."""
        return str(
            browser.execute_script(
                "const c = document.querySelector(`tr[data-service='${arguments[0]}'] td.status`);"
                " return c ? c.textContent : 'absent';",
                service,
            )
        )

    seen: list[tuple[str, str]] = []

    def both_up(_browser: Any) -> bool:
        seen.append((status("web"), status("mcp")))
        return seen[-1] == ("up", "up")

    try:
        WebDriverWait(browser, 60).until(both_up)
    except Exception:
        shot(browser, "dashboard-timeout.png")
        raise AssertionError(f"web and mcp never both up: last seen {seen[-3:]}") from None
    headings = [h.text for h in browser.find_elements(By.CSS_SELECTOR, "#phases h2")]
    assert headings[0].lower() == "databases" and "apps" in [h.lower() for h in headings]
    mcp_cell = str(
        browser.execute_script(
            "return document.querySelector('tr[data-service=mcp] td.mcp').textContent;"
        )
    )
    assert "5 tools" in mcp_cell
    shot(browser, "dashboard.png")

    web = str(p.container("web")["Id"])
    subprocess.run(["docker", "stop", "-t", "1", web], check=True, capture_output=True)
    stopped = time.monotonic()
    try:
        WebDriverWait(browser, 10, poll_frequency=0.05).until(
            lambda _b: status("web") == "down", "web down"
        )
    finally:
        shot(browser, "dashboard-web-stopped.png")
    assert time.monotonic() - stopped < 2.0  # the events stream, not a poll
    subprocess.run(["docker", "start", web], check=True, capture_output=True)
    WebDriverWait(browser, 30, poll_frequency=0.1).until(
        lambda _b: status("web") == "up", f"web up again (now {status('web')})"
    )
    assert browser.execute_script("return window.loadedOnce;") == "yes"  # never reloaded  # type: ignore[attr-defined]

    # An alert as Alertmanager's webhook sends it appears at once, and goes when resolved.
    def webhook(state: str) -> None:
        alert = {
            "status": state,
            "labels": {"alertname": "ServiceDown", "service": "web", "severity": "critical"},
            "annotations": {"summary": "web fails its probe"},
            "startsAt": "2026-11-27T10:00:00Z",
            "endsAt": "2026-11-27T10:01:00Z",
            "fingerprint": "abc123",
        }
        post_json(port, "/alerts", {"version": "4", "status": state, "alerts": [alert]})

    def row_text(selector: str) -> str:
        script = f"const r = document.querySelector({json.dumps(selector)});"
        return str(browser.execute_script(script + " return r ? r.textContent : '';"))

    def alert_row() -> str:
        return row_text("#alerts tr[data-alert='ServiceDown']")

    webhook("firing")
    WebDriverWait(browser, 5, poll_frequency=0.05).until(
        lambda _b: "web fails its probe" in alert_row(), "the alert on the page"
    )
    shot(browser, "dashboard-alert.png")
    webhook("resolved")
    WebDriverWait(browser, 5, poll_frequency=0.05).until(
        lambda _b: alert_row() == "", "the resolved alert gone"
    )

    # A supervision action as `bootstrap supervise` posts it appears at once, newest first.
    action = {"service": "web", "kind": "restarted", "reason": "db is ready again", "at": 1e9}
    post_json(port, "/supervision", action)

    def action_row() -> str:
        return row_text("#supervision tr[data-kind='restarted']")

    WebDriverWait(browser, 5, poll_frequency=0.05).until(
        lambda _b: "db is ready again" in action_row(), "the supervision action on the page"
    )
    shot(browser, "dashboard-supervision.png")
