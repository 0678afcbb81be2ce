"""hostwatch.stack.in_place: true only for exactly the expected state, false for the unknown."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible_collections.hostwatch.stack.plugins.test.in_place import in_place

CONTENT = "server {}\n"


def entry(path: str, **over: Any) -> dict[str, Any]:
    base = {
        "path": path,
        "pw_name": "root",
        "gr_name": "root",
        "mode": "0644",
        "isreg": True,
        "isdir": False,
        "checksum": hashlib.sha1(CONTENT.encode(), usedforsecurity=False).hexdigest(),
    }
    return base | over


def found(*entries: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"files": list(entries), "changed": False} | extra


SITE = "/etc/nginx/sites-available/hostwatch.conf"


def test_the_same_file_is_in_place() -> None:
    assert in_place(SITE, found(entry(SITE)), content=CONTENT)
    assert in_place(SITE + "/", found(entry(SITE)), content=CONTENT)  # the path is normalised


@pytest.mark.parametrize(
    ("over", "kwargs"),
    [
        ({}, {"content": "server { listen 81; }\n"}),  # other content
        ({"mode": "0600"}, {"content": CONTENT}),
        ({"gr_name": "adm"}, {"content": CONTENT}),
        ({"pw_name": "www-data"}, {"content": CONTENT}),
        ({"isreg": False}, {"content": CONTENT}),  # a link or a directory in its place
        ({}, {"content": CONTENT, "group": "hostwatch", "mode": "0640"}),  # other wanted attributes
    ],
)
def test_any_difference_is_not_in_place(over: dict[str, Any], kwargs: dict[str, Any]) -> None:
    assert not in_place(SITE, found(entry(SITE, **over)), **kwargs)


def test_a_missing_file_is_absent() -> None:
    assert not in_place(SITE, found(), content=CONTENT)
    assert in_place(SITE, found(), state="absent")


@pytest.mark.parametrize(
    "survey",
    [
        found(entry(SITE), skipped=True),  # the find did not run (a condition, check mode)
        found(entry(SITE), failed=True),
        found(skipped_paths={"/etc/nginx/sites-available": "not a directory"}),
        None,  # no survey at all
    ],
    ids=["skipped", "failed", "directory-not-read", "none"],
)
def test_unknown_is_never_in_place(survey: Any) -> None:
    assert not in_place(SITE, survey, content=CONTENT)
    assert not in_place(SITE, survey, state="absent")
    assert not in_place(SITE, survey, state="present")


def test_directory_absent_and_present() -> None:
    conf = entry("/etc/hostwatch", isreg=False, isdir=True, gr_name="hostwatch", mode="0750")
    survey = found(conf)
    assert in_place("/etc/hostwatch", survey, state="directory", group="hostwatch", mode="0750")
    assert not in_place("/etc/hostwatch", survey, state="directory", group="hostwatch", mode="0755")
    assert not in_place("/etc/hostwatch", survey, group="hostwatch", mode="0750")  # not a file
    assert in_place("/etc/hostwatch", survey, state="present")
    assert not in_place("/etc/hostwatch", survey, state="absent")
    assert in_place("/etc/nginx/sites-enabled/default", survey, state="absent")
    assert not in_place("/usr/sbin/nginx", survey, state="present")
