"""Hypothesis over the query string and log names: never a 5xx, every error a problem+json."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient
from hypothesis import given, settings
from hypothesis import strategies as st

from hostwatch import create_app

from .conftest import base_config

KEYS = st.sampled_from(["lines", "format", "contains", "regex", "junk"])
VALUES = st.one_of(
    st.text(max_size=40),
    st.integers(-10, 10_000).map(str),
    st.sampled_from(
        ["json", "text", "(", "a{1000}", "\\", "[[:alpha:]]", "(?P<x>a)", ".*", "\x00"]
    ),
)

# all-digit `lines` of any length, as int() refuses more than 4300 digits; the length is drawn
# first because hypothesis keeps a plain st.text() short
DIGITS = st.integers(1, 5000).flatmap(lambda k: st.text("0123456789", min_size=k, max_size=k))
PARAMS = st.one_of(st.tuples(KEYS, VALUES), st.tuples(st.just("lines"), DIGITS))


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    (tmp / "logs").mkdir()
    config = base_config(tmp)
    (tmp / "logs" / "app.log").write_bytes(b"plain\n\xff\xfe broken\n" + b"long " * 100 + b"\n")
    return create_app(config).test_client()


def check(response: object) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    assert status < 500
    if status >= 400:
        assert response.mimetype == "application/problem+json"  # type: ignore[attr-defined]


@settings(max_examples=300, deadline=None)
@given(params=st.lists(PARAMS, max_size=4))
def test_queries_never_5xx(fuzz_client: FlaskClient, params: list[tuple[str, str]]) -> None:
    check(fuzz_client.get("/logs/app", query_string=params))


@settings(max_examples=200, deadline=None)
@given(name=st.text(min_size=1, max_size=30))
def test_names_never_5xx(fuzz_client: FlaskClient, name: str) -> None:
    check(fuzz_client.get(f"/logs/{quote(name, safe='')}"))
    check(fuzz_client.get(f"/logs/{quote(name, safe='/.')}"))
