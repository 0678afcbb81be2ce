"""The operator page: `/`, `/tail` and the static files; escaping of everything read from a log."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from hostwatch import create_app

from .conftest import TOKEN, TOKEN_SHA256

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=alert(1)>'


def lines_of(page: str) -> list[str]:
    """The text of each log line in a rendered page, unescaped as a browser would."""
    return [html.unescape(m) for m in re.findall(r'<div class="line">(.*?)</div>', page, re.S)]


def get(client: FlaskClient, url: str) -> Any:
    """GET and close: a static file is sent from an open file until the response is closed."""
    reply = client.get(url)
    reply.get_data()
    reply.close()
    return reply


def token_client(config: dict[str, Any], **auth: Any) -> FlaskClient:
    config["auth"] = {"token_sha256": [TOKEN_SHA256], **auth}
    return create_app(config).test_client()


def test_index_renders_health_with_thresholds_and_values(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    doc = client.get("/health").get_json()
    body = page.text
    assert f'id="overall" class="badge status-{doc["status"]}"' in body
    # every check of /health is a row, with its value as data and its thresholds
    for key, entries in doc["checks"].items():
        for entry in entries:
            row = re.search(
                rf'<tr class="status-(\w+)" data-check="{re.escape(key)}"'
                rf' data-component="{re.escape(entry.get("componentId", ""))}".*?</tr>',
                body,
                re.S,
            )
            assert row, key
            assert row.group(1) == entry["status"]
    memory = re.search(r'data-check="memory:utilization".*?</tr>', body, re.S)
    assert memory
    assert "<td>90.0 %</td>" in memory.group(0)
    assert "<td>98.0 %</td>" in memory.group(0)


def test_index_loads_only_its_own_script_and_style(client):
    body = client.get("/").text
    assert re.findall(r"<script[^>]*>", body) == ['<script src="/static/hostwatch.js" defer>']
    assert "<style" not in body
    assert not re.search(r"<[^>]+\son\w+=", body), "no inline event handlers"
    assert "http://" not in body
    assert "https://" not in body


def test_page_headers(client):
    for url in ("/", "/tail", "/static/hostwatch.js", "/static/hostwatch.css"):
        reply = get(client, url)
        assert reply.status_code == 200, url
        csp = reply.headers["Content-Security-Policy"]
        assert csp.startswith("default-src 'none';")
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/").headers["Cache-Control"] == "no-store"
    assert get(client, "/static/hostwatch.js").mimetype == "text/javascript"


@pytest.mark.parametrize("path", ["favicon.svg", "hostwatch.css", "hostwatch.js"])
def test_static_files_are_served(client, path):
    assert get(client, f"/static/{path}").status_code == 200


def test_static_outside_the_folder_is_not_served(client):
    assert client.get("/static/../__init__.py").status_code == 404
    assert client.get("/static/%2e%2e/__init__.py").status_code == 404


def test_index_with_protected_health_holds_no_figures_until_a_token(config):
    client = token_client(config, protect_health=True)
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-auth="token"' in page.text
    assert 'data-protect-health="yes"' in page.text
    assert 'data-value=""' in page.text
    assert not re.search(r'data-value="[0-9]', page.text)


def test_tail_page_shows_filtered_lines(client, log_path):
    reply = client.get("/tail", query_string={"log": "app", "lines": "3", "regex": "line 1[0-9]$"})
    assert reply.status_code == 200
    assert lines_of(reply.text) == ["line 17", "line 18", "line 19"]
    contains = client.get("/tail", query_string={"log": "app", "lines": "2", "contains": "29"})
    assert lines_of(contains.text) == ["line 298", "line 299"]


def test_tail_page_lists_the_logs(client):
    body = client.get("/tail").text
    for name in ("app", "gone", "secret", "dir"):
        assert f'<th scope="row">{name}</th>' in body
    assert "missing" in body


def test_log_lines_are_text_never_html(client, log_path: Path):
    with log_path.open("ab") as f:
        f.write(HOSTILE.encode() + b"\n" + b"bad \xff\xfe bytes\n")
    reply = client.get("/tail", query_string={"log": "app", "lines": "2"})
    assert reply.status_code == 200
    assert "<script>alert" not in reply.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in reply.text
    assert "<img" not in reply.text
    assert lines_of(reply.text) == [HOSTILE, "bad \ufffd\ufffd bytes"]


def test_form_values_are_escaped_back_into_the_form(client):
    reply = client.get("/tail", query_string={"log": "app", "contains": '"><script>x'})
    assert reply.status_code == 200
    assert '"><script>x' not in reply.text
    assert 'value="&#34;&gt;&lt;script&gt;x"' in reply.text


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({"log": "nope"}, 404, "no configured log named"),
        ({"log": "gone"}, 404, "is missing on this host"),
        ({"log": "app", "lines": "0"}, 400, "lines must be an integer"),
        ({"log": "app", "regex": "("}, 400, "not a valid RE2 pattern"),
        ({"log": "app", "bogus": "1"}, 400, "unknown field"),
        ({"log": "../etc/passwd"}, 404, "no configured log named"),
    ],
)
def test_tail_page_errors_are_shown_in_the_page(client, query, status, message):
    reply = client.get("/tail", query_string=query)
    assert reply.status_code == status
    assert reply.mimetype == "text/html"
    error = re.search(r'<p class="error" id="error">(.*?)</p>', reply.text, re.S)
    assert error
    assert message in html.unescape(error.group(1))
    assert lines_of(reply.text) == []


def test_tail_page_with_tokens_takes_the_token_by_post_only(config):
    client = token_client(config)
    asked = client.get("/tail", query_string={"log": "app"})
    assert asked.status_code == 401
    assert asked.headers["WWW-Authenticate"] == 'Bearer realm="hostwatch"'
    assert 'method="post"' in asked.text
    assert 'name="token" type="password"' in asked.text
    assert lines_of(asked.text) == []
    assert '<th scope="row">app</th>' not in asked.text  # not even the list without a token
    assert 'id="prompt"' in asked.text
    # a token in the query string is not taken: it would end up in access logs
    in_url = client.get("/tail", query_string={"log": "app", "token": TOKEN})
    assert in_url.status_code == 400
    wrong = client.post("/tail", data={"log": "app", "lines": "2", "token": "wrong"})
    assert wrong.status_code == 401
    assert "WWW-Authenticate" in wrong.headers
    assert "not accepted" in wrong.text
    assert lines_of(wrong.text) == []
    listed = client.post("/tail", data={"log": "", "token": TOKEN})  # the token alone: the list
    assert listed.status_code == 200
    assert "<option selected>app</option>" not in listed.text
    assert "<option>app</option>" in listed.text
    assert lines_of(listed.text) == []
    right = client.post("/tail", data={"log": "app", "lines": "2", "token": TOKEN})
    assert right.status_code == 200
    assert lines_of(right.text) == ["line 299", "line 300"]


def test_index_with_tokens_shows_health_but_no_logs(config):
    client = token_client(config)
    page = client.get("/")
    assert page.status_code == 200
    assert 'data-auth="token"' in page.text
    assert re.search(r'data-value="[0-9]', page.text)
    assert "app.log" not in page.text
    assert lines_of(page.text) == []


def test_other_methods_are_refused(client):
    assert client.post("/").status_code == 405
    assert client.delete("/tail").status_code == 405
    assert client.put("/static/hostwatch.js").status_code == 405


def test_figure_filter_formats_like_the_script():
    from hostwatch.page import figure, size

    assert figure(None, "percent") == "n/a"
    assert figure(42.123, "percent") == "42.1 %"
    assert figure(0.5, "load") == "0.50"
    assert figure(3 * 86400 + 2 * 3600 + 5 * 60 + 7, "s") == "3 d 2 h 5 min"
    assert figure(125, "s") == "0 h 2 min"
    assert size(None) == "n/a"
    assert size(512) == "512 B"
    assert size(2048) == "2.0 KiB"
    assert size(5 * 1024**3) == "5.0 GiB"
