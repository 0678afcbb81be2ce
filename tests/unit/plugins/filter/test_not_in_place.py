"""hostwatch.stack.not_in_place: left out only in exactly the stated state; the unknown stays in."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostwatch.stack.plugins.filter.not_in_place import not_in_place

CONTENT = "server {}\n"
SITE = "/etc/nginx/sites-available/hostwatch.conf"
LINK = "/etc/nginx/sites-enabled/hostwatch.conf"
FILE = {"path": SITE, "content": CONTENT, "owner": "root", "group": "root", "mode": "0644"}


def seen(**over: Any) -> dict[str, Any]:
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
    assert not_in_place([FILE], survey({SITE: seen()})) == []
    assert (
        not_in_place([FILE | {"path": SITE + "/"}], survey({SITE: seen()})) == []
    )  # normalised path


@pytest.mark.parametrize(
    ("found", "wanted"),
    [
        (seen(), {"content": "server { listen 81; }\n"}),  # other content
        (seen(mode="0600"), {}),
        (seen(group="adm"), {}),
        (seen(owner="www-data"), {}),
        (seen(type="link", target=SITE), {}),  # a link in its place
        (seen(type="directory"), {}),
        (seen(), {"group": "hostwatch", "mode": "0640"}),  # other stated attributes
    ],
)
def test_any_difference_is_not_in_place(found: dict[str, Any], wanted: dict[str, Any]) -> None:
    entry = FILE | wanted
    assert not_in_place([entry], survey({SITE: found})) == [entry | {"state": "file"}]


def test_only_the_entries_not_in_place_come_back_in_order() -> None:
    other = FILE | {"path": "/etc/nginx/snippets/h.conf"}
    gone = {"path": "/etc/nginx/sites-enabled/default", "state": "absent"}
    found = survey(
        {SITE: seen(), other["path"]: {"exists": False}, gone["path"]: seen(type="link")}
    )
    assert [e["path"] for e in not_in_place([other, FILE, gone], found)] == [
        other["path"],
        gone["path"],
    ]


def test_a_missing_path_is_absent() -> None:
    found = survey({SITE: {"exists": False}})
    assert not_in_place([FILE], found) == [FILE | {"state": "file"}]
    assert not_in_place([{"path": SITE, "state": "absent"}], found) == []


@pytest.mark.parametrize(
    "found",
    [
        survey({SITE: seen()}, skipped=True),  # the survey did not run (a condition, check mode)
        survey({SITE: seen()}, failed=True),
        survey({}),  # a path the survey did not read
        survey({SITE: {"error": "Permission denied"}}),  # an entry without the facts
        {},  # nothing read yet: everything is written
        None,
    ],
    ids=["skipped", "failed", "not-read", "error", "empty", "none"],
)
def test_unknown_is_never_in_place(found: Any) -> None:
    assert len(not_in_place([FILE, {"path": SITE, "state": "absent"}], found)) == 2


def test_directory() -> None:
    conf = {
        "path": "/etc/hostwatch",
        "state": "directory",
        "owner": "root",
        "group": "hostwatch",
        "mode": "0750",
    }
    found = survey({"/etc/hostwatch": seen(type="directory", group="hostwatch", mode="0750")})
    assert not_in_place([conf], found) == []
    assert not_in_place([conf | {"mode": "0755"}], found) != []
    assert not_in_place([conf | {"state": "file", "content": ""}], found) != []  # not a file


def test_a_link_is_in_place_only_with_its_target() -> None:
    # a link's own owner and mode mean nothing (lrwxrwxrwx): only where it points
    found = survey({LINK: seen(type="link", target=SITE, mode="0777", checksum=None)})
    link = {"path": LINK, "state": "link", "src": SITE}
    assert not_in_place([link], found) == []
    assert not_in_place([link | {"src": "/etc/nginx/sites-available/default"}], found) != []
    assert not_in_place([link], survey({LINK: seen()})) != []  # a file there


@pytest.mark.parametrize(
    "entry",
    [
        {"content": CONTENT, "owner": "root", "group": "root", "mode": "0644"},  # no path
        {"path": SITE, "state": "dir"},  # a state it does not know
        {
            "path": SITE,
            "content": CONTENT,
            "group": "root",
            "mode": "0644",
        },  # no owner: never a default
        {"path": LINK, "state": "link"},  # no target
    ],
)
def test_an_incomplete_entry_is_refused(entry: dict[str, Any]) -> None:
    with pytest.raises(AnsibleFilterError):
        not_in_place([entry], survey({}))
