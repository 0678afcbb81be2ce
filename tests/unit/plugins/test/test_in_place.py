"""hostwatch.stack.in_place: true only for exactly the expected state, false for the unknown."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible_collections.hostwatch.stack.plugins.test.in_place import in_place

CONTENT = "server {}\n"
SITE = "/etc/nginx/sites-available/hostwatch.conf"
LINK = "/etc/nginx/sites-enabled/hostwatch.conf"


def entry(**over: Any) -> dict[str, Any]:
    base = {
        "exists": True,
        "type": "file",
        "owner": "root",
        "group": "root",
        "mode": "0644",
        "checksum": hashlib.sha1(CONTENT.encode(), usedforsecurity=False).hexdigest(),
    }
    return base | over


def survey(paths: dict[str, dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"paths": paths, "changed": False} | extra


def test_the_same_file_is_in_place() -> None:
    assert in_place(SITE, survey({SITE: entry()}), content=CONTENT)
    assert in_place(SITE + "/", survey({SITE: entry()}), content=CONTENT)  # the path is normalised
    assert in_place(SITE, survey({SITE: entry()}))  # content not compared when not given


@pytest.mark.parametrize(
    ("over", "kwargs"),
    [
        ({}, {"content": "server { listen 81; }\n"}),  # other content
        ({"mode": "0600"}, {"content": CONTENT}),
        ({"group": "adm"}, {"content": CONTENT}),
        ({"owner": "www-data"}, {"content": CONTENT}),
        ({"type": "link", "target": SITE}, {"content": CONTENT}),  # a link in its place
        ({"type": "directory"}, {"content": CONTENT}),
        ({}, {"content": CONTENT, "group": "hostwatch", "mode": "0640"}),  # other wanted attributes
        ({}, {"content": CONTENT, "state": "dir"}),  # a state the test does not know
    ],
)
def test_any_difference_is_not_in_place(over: dict[str, Any], kwargs: dict[str, Any]) -> None:
    assert not in_place(SITE, survey({SITE: entry(**over)}), **kwargs)


def test_a_missing_file_is_absent() -> None:
    gone = survey({SITE: {"exists": False}})
    assert not in_place(SITE, gone, content=CONTENT)
    assert in_place(SITE, gone, state="absent")
    assert not in_place(SITE, gone, state="present")


@pytest.mark.parametrize(
    "found",
    [
        survey({SITE: entry()}, skipped=True),  # the survey did not run (a condition, check mode)
        survey({SITE: entry()}, failed=True),
        survey({}),  # a path the survey did not read
        survey({SITE: {}}),  # an entry without the facts
        None,  # no survey at all
    ],
    ids=["skipped", "failed", "not-read", "empty-entry", "none"],
)
def test_unknown_is_never_in_place(found: Any) -> None:
    assert not in_place(SITE, found, content=CONTENT)
    assert not in_place(SITE, found, state="absent")
    assert not in_place(SITE, found, state="present")


def test_directory_present_and_absent() -> None:
    conf = entry(type="directory", group="hostwatch", mode="0750")
    found = survey({"/etc/hostwatch": conf, "/usr/sbin/nginx": {"exists": False}})
    assert in_place("/etc/hostwatch", found, state="directory", group="hostwatch", mode="0750")
    assert not in_place("/etc/hostwatch", found, state="directory", group="hostwatch", mode="0755")
    assert not in_place("/etc/hostwatch", found, group="hostwatch", mode="0750")  # not a file
    assert in_place("/etc/hostwatch", found, state="present")
    assert not in_place("/etc/hostwatch", found, state="absent")
    assert not in_place("/usr/sbin/nginx", found, state="present")


def test_a_link_is_in_place_only_with_its_target() -> None:
    # a link's own owner and mode mean nothing (lrwxrwxrwx): only where it points
    found = survey({LINK: entry(type="link", target=SITE, mode="0777", checksum=None)})
    assert in_place(LINK, found, state="link", src=SITE)
    assert not in_place(LINK, found, state="link", src="/etc/nginx/sites-available/default")
    assert not in_place(LINK, found, state="link")  # no target asked: unknown
    assert not in_place(LINK, survey({LINK: entry()}), state="link", src=SITE)  # a file there
