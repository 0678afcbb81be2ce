"""The operator page in a real browser: Debian's chromium, driven by Selenium from the controller,
loading each converged host's page through nginx (the controller, 172.30.1.1, is on the page and
logs allowlists; the other host is not on the page's)."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ADDRESSES, ON_DEFAULTS, TOKEN, http
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

LOG = "nginx_error"
LOG_PATH = "/var/log/nginx/error.log"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1300",
]
# Where each run leaves its screenshot (docs/page.png in the repository is one, copied once).
SCREENSHOT = Path(tempfile.gettempdir()) / "hostwatch-page.png"

testinfra_hosts = ON_DEFAULTS


def fetch(url: str, form: bytes | None = None) -> str:
    """GET (or POST a form to) an http:// URL of a test host, from the controller."""
    request = urllib.request.Request(url, data=form)  # noqa: S310  # URLs made here, http only
    with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
        return str(reply.read().decode())


@pytest.fixture(scope="module")
def driver() -> Iterator[webdriver.Chrome]:
    profile = tempfile.mkdtemp(prefix="hostwatch-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in [*FLAGS, f"--user-data-dir={profile}"]:
        options.add_argument(flag)
    # console messages, and the network log that says which /health answers the page received
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    browser = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        browser.execute_cdp_cmd("Network.enable", {})
        yield browser
    finally:
        browser.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """One host's page, loaded and given the token; keeps what the browser logged."""

    def __init__(self, driver: webdriver.Chrome, name: str) -> None:
        self.driver = driver
        self.name = name
        self.url = f"http://{ADDRESSES[name]}/"
        self.console: list[dict[str, Any]] = []
        self.network: list[dict[str, Any]] = []

    def wait(self, check: Any, seconds: float = 5.0) -> Any:
        return WebDriverWait(self.driver, seconds, poll_frequency=0.05).until(lambda _: check())

    def js(self, script: str, *args: Any) -> Any:
        return self.driver.execute_script(script, *args)

    def collect_logs(self) -> None:
        self.console += self.driver.get_log("browser")
        for entry in self.driver.get_log("performance"):
            self.network.append(json.loads(entry["message"])["message"])

    def lines(self) -> list[str]:
        return list(
            self.js("return [...document.querySelectorAll('#lines .line')].map(e => e.textContent)")
        )

    def write(self, *lines: bytes) -> None:
        """Append lines to the log on the host (docker exec: the quickest way in)."""
        data = b"".join(line + b"\n" for line in lines)
        subprocess.run(
            ["docker", "exec", "-i", self.name, "sh", "-c", f"cat >> {LOG_PATH}"],
            input=data,
            check=True,
            timeout=10,
        )

    def tail(self, lines: int, contains: str = "", regex: str = "") -> list[str]:
        d = self.driver
        Select(d.find_element(By.ID, "log")).select_by_value(LOG)
        for field, value in (("lines-n", str(lines)), ("contains", contains), ("regex", regex)):
            element = d.find_element(By.ID, field)
            element.clear()
            element.send_keys(value)
        self.js("document.getElementById('view-note').textContent = ''")
        d.find_element(By.ID, "show").click()
        self.wait(lambda: " of " + LOG in d.find_element(By.ID, "view-note").text)
        return self.lines()


@pytest.fixture(scope="module")
def page(host, driver) -> Iterator[Page]:
    me = Page(driver, host.backend.get_hostname())
    driver.get(me.url)
    # asked once: the token form shows, and nothing about the logs is fetched without it
    token_input = driver.find_element(By.ID, "token")
    assert token_input.is_displayed()
    token_input.send_keys(TOKEN)
    driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
    me.wait(lambda: driver.find_elements(By.CSS_SELECTOR, "#log-list tr"))
    yield me
    me.collect_logs()


def test_page_token_is_kept_for_the_tab(page):
    assert page.js("return sessionStorage.getItem('hostwatch.token')") == TOKEN
    assert page.js("return localStorage.length") == 0
    assert TOKEN not in page.driver.current_url
    names = page.js("return [...document.querySelectorAll('#log-list th')].map(e => e.textContent)")
    assert LOG in names


def test_page_health_values_equal_health(page):
    d = page.driver
    read_rows = """return [...document.querySelectorAll('#checks tr')].map(r => [
        r.dataset.check, r.dataset.component, r.querySelector('td.value').dataset.value,
        r.querySelector('td.value').textContent, r.querySelector('.status').textContent,
        r.className])"""
    page.wait(lambda: "figures of" in d.find_element(By.ID, "health-time").text)
    # The page refreshes every few seconds and each /health answer is a new sample: match what
    # the page shows against the /health answers it received (read from Chrome's network log).
    rows = page.js(read_rows)
    overall = page.js("return document.getElementById('overall').textContent")  # not upper-cased
    page.collect_logs()
    bodies = []
    for event in page.network:
        params = event.get("params", {})
        url = params.get("response", {}).get("url", "")
        if event["method"] == "Network.responseReceived" and url == f"{page.url}health":
            body = d.execute_cdp_cmd("Network.getResponseBody", {"requestId": params["requestId"]})
            bodies.append(json.loads(body["body"]))
    assert bodies, "the page never asked /health"
    shown = {
        (key, component): (None if value == "" else float(value), status, css)
        for key, component, value, _text, status, css in rows
    }

    def expected(doc: dict[str, Any]) -> dict[tuple[str, str], tuple[float | None, str, str]]:
        return {
            (key, e.get("componentId", "")): (
                e["observedValue"],
                e["status"],
                f"status-{e['status']}",
            )
            for key, entries in doc["checks"].items()
            for e in entries
        }

    matches = [doc for doc in bodies if expected(doc) == shown and doc["status"] == overall]
    assert matches, f"page shows {shown}, /health said {[expected(b) for b in bodies[-3:]]}"
    assert d.find_element(By.ID, "hostname").text == matches[-1]["hostname"]
    for key, _component, value, text, _status, _css in rows:
        if key.endswith(":utilization"):
            assert text == f"{float(value):.1f} %"
    # the same figures a plain client gets: the same checks, the host status within pass/warn
    direct = json.loads(fetch(f"{page.url}health"))
    assert set(expected(direct)) == set(shown)


def test_page_filtered_tail_shows_the_right_lines(page):
    marker = f"page-{uuid.uuid4().hex[:12]}"
    page.write(
        f"{marker} alpha 1".encode(),
        f"{marker} beta 2".encode(),
        f"{marker} alpha 3".encode(),
        b"unrelated alpha 4",
    )
    assert page.tail(10, contains=marker, regex=r"alpha \d$") == [
        f"{marker} alpha 1",
        f"{marker} alpha 3",
    ]
    assert page.tail(2, contains=marker) == [f"{marker} beta 2", f"{marker} alpha 3"]


def test_page_shows_markup_and_bad_bytes_as_text(page):
    marker = f"markup-{uuid.uuid4().hex[:12]}"
    hostile = f"{marker} <script>document.title='owned'</script><img src=x>"
    long = f"{marker} long:" + "0123456789abcdef" * 40  # no space to break at
    page.write(hostile.encode(), f"{marker} bad \xff bytes".encode("latin-1"), long.encode())
    title = page.driver.title
    assert page.tail(5, contains=marker) == [hostile, f"{marker} bad \ufffd bytes", long]
    assert page.js("return document.querySelectorAll('#lines script, #lines img').length") == 0
    assert page.driver.title == title
    # the long line wraps inside the view: several rows high, nothing sticks out sideways
    view = page.js(
        "const v = document.getElementById('lines'), l = v.lastElementChild;"
        "return [v.scrollWidth, v.clientWidth, l.getBoundingClientRect().height,"
        " v.firstElementChild.getBoundingClientRect().height]"
    )
    scroll_width, width, long_height, short_height = view
    assert scroll_width <= width
    assert long_height >= 3 * short_height


def test_page_follow_shows_a_new_line_within_2_s(page):
    d = page.driver
    marker = f"follow-{uuid.uuid4().hex[:12]}"
    page.tail(20, contains="", regex="")  # what the view shows before following
    # followed lines pass the filter too, by the server's RE2 rules: `(?i)` is RE2 syntax that a
    # JavaScript RegExp refuses, so this shows the browser leaves the matching to the server
    d.find_element(By.ID, "regex").send_keys(f"(?i){marker.upper()}")
    d.find_element(By.ID, "follow").click()
    page.wait(lambda: d.find_element(By.ID, "view-note").text.startswith("following"))
    time.sleep(0.3)  # the server has opened the file at its end only once the stream answers
    started = time.monotonic()
    page.write(b"not followed: no marker", f"{marker} <b>arrived</b>".encode())
    page.wait(lambda: any(marker in line for line in page.lines()), 2.0)
    elapsed = time.monotonic() - started
    print(f"{page.name}: a written line showed in the follow view after {elapsed:.2f} s")
    assert elapsed <= 2.0
    new = page.js(
        "return [...document.querySelectorAll('#lines .line.new')].map(e => e.textContent)"
    )
    assert new == [f"{marker} <b>arrived</b>"]
    d.save_screenshot(str(SCREENSHOT))
    print(f"screenshot: {SCREENSHOT}")
    d.find_element(By.ID, "follow").click()  # stop: frees the follower slot
    assert d.find_element(By.ID, "follow").get_attribute("aria-pressed") == "false"


def test_page_tail_without_javascript_takes_the_token_by_post(page):
    form = {"log": LOG, "lines": "5", "token": TOKEN}
    body = fetch(f"{page.url}tail", urllib.parse.urlencode(form).encode())
    assert body.count('<div class="line">') == 5
    assert "&lt;b&gt;arrived&lt;/b&gt;" in body  # the followed line, escaped


def test_page_no_console_errors(page):
    # a blocked script, style or request (CSP), a failed load or a script error would all be here
    page.collect_logs()
    errors = [entry for entry in page.console if entry["level"] == "SEVERE"]
    assert errors == []
    with urllib.request.urlopen(page.url, timeout=5) as reply:  # noqa: S310  # http, made here
        policies = reply.headers.get_all("Content-Security-Policy")
    assert len(policies) == 1, policies  # the app's own, passed through by nginx
    assert policies[0].startswith("default-src 'none';")
    assert "unsafe" not in policies[0]


def test_page_refused_from_an_address_not_on_its_allowlist(host):
    me = host.backend.get_hostname()
    other = next(name for name in ADDRESSES if name != me)
    peer = host.get_host(f"ansible://{other}", ansible_inventory=host.backend.ansible_inventory)
    for path in ("/", "/static/hostwatch.js", "/tail"):
        refused = http(peer, f"http://{ADDRESSES[me]}{path}")
        assert refused.status == 403, path
    assert http(peer, f"http://{ADDRESSES[me]}/health/live").status == 200  # only the page
