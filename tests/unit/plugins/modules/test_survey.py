"""hostwatch.stack.survey: what it reads of paths and units, without a host."""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
from pathlib import Path

import pytest
from ansible_collections.hostwatch.stack.plugins.filter.not_in_place import not_in_place
from ansible_collections.hostwatch.stack.plugins.modules.survey import (
    parse_show,
    read_groups,
    read_paths,
    read_users,
    shadow_locks,
)


def test_a_file_a_directory_a_link_and_a_missing_path(tmp_path: Path) -> None:
    site = tmp_path / "site.conf"
    site.write_text("server {}\n")
    site.chmod(0o640)
    (tmp_path / "enabled").symlink_to("site.conf")
    paths = [str(site), str(tmp_path), str(tmp_path / "enabled"), str(tmp_path / "gone")]

    found = read_paths(paths, checksum=True)

    assert found[str(site)]["type"] == "file"
    assert found[str(site)]["mode"] == "0640"
    digest = hashlib.sha1(b"server {}\n", usedforsecurity=False).hexdigest()
    assert found[str(site)]["checksum"] == digest
    assert found[str(tmp_path)]["type"] == "directory"
    assert "checksum" not in found[str(tmp_path)]
    link = found[str(tmp_path / "enabled")]  # not followed: the link itself
    assert (link["type"], link["mode"], link["target"]) == ("link", "0777", "site.conf")
    assert found[str(tmp_path / "gone")] == {"exists": False}
    owner = found[str(site)]["owner"]
    assert owner and owner == found[str(tmp_path)]["owner"]


def test_patterns_add_their_matches_only(tmp_path: Path) -> None:
    for name in ("20260101T000000Z-aaaaaaaaaaaa", "20260102T000000Z-bbbbbbbbbbbb"):
        (tmp_path / name).mkdir()
    (tmp_path / "20260101T000000Z-aaaaaaaaaaaa" / ".complete").write_text("x")

    patterns = [f"{tmp_path}/*", f"{tmp_path}/*/.complete", f"{tmp_path}/none-*"]
    found = read_paths(patterns, checksum=False)

    assert sorted(found) == sorted(
        [
            str(tmp_path / "20260101T000000Z-aaaaaaaaaaaa"),
            str(tmp_path / "20260101T000000Z-aaaaaaaaaaaa" / ".complete"),
            str(tmp_path / "20260102T000000Z-bbbbbbbbbbbb"),
        ]
    )
    assert all("checksum" not in e for e in found.values())


def test_what_cannot_be_read_is_not_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("x")
    assert read_paths([str(tmp_path / "file" / "below")], checksum=True) == {
        str(tmp_path / "file" / "below"): {"exists": False}  # a file where a directory would be
    }

    def denied(path: str) -> str:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr("ansible_collections.hostwatch.stack.plugins.modules.survey.sha1", denied)
    path = str(tmp_path / "file")
    found = {"paths": read_paths([path], checksum=True)}
    assert "checksum" not in found["paths"][path]
    assert found["paths"][path]["error"] == "Permission denied"
    wanted = {
        "path": path,
        "content": "x",
        "owner": found["paths"][path]["owner"],
        "group": "root",
        "mode": "0644",
    }
    assert not_in_place([wanted], found) != []


def test_paths_are_normalised(tmp_path: Path) -> None:
    found = read_paths([f"{tmp_path}//a/../b/"], checksum=True)
    assert list(found) == [os.path.normpath(f"{tmp_path}/b")]


def test_units_are_read_in_the_order_asked() -> None:
    out = (
        "LoadState=loaded\nActiveState=active\nUnitFileState=enabled\n\n"
        "LoadState=not-found\nActiveState=inactive\nUnitFileState=\n"
    )
    assert parse_show(["nginx.service", "nope.service"], out) == {
        "nginx.service": {"load": "loaded", "active": "active", "enabled": "enabled", "up": True},
        "nope.service": {"load": "not-found", "active": "inactive", "enabled": "", "up": False},
    }


def test_users_and_groups_as_the_databases_say() -> None:
    root = pwd.getpwnam("root")
    member_of = sorted(g.gr_name for g in grp.getgrall() if "root" in g.gr_mem)

    users = read_users(["root", "no-such-user-hw"], {"root": True})
    groups = read_groups(["root", "no-such-group-hw"])

    assert users["root"] == {
        "exists": True,
        "uid": 0,
        "gid": root.pw_gid,
        "home": root.pw_dir,
        "shell": root.pw_shell,
        "groups": member_of,
        "locked": True,
    }
    assert users["no-such-user-hw"] == {"exists": False}
    assert groups == {"root": {"exists": True, "gid": 0}, "no-such-group-hw": {"exists": False}}
    assert read_users(["root"], {})["root"]["locked"] is None  # shadow not readable: unknown


def test_a_lock_is_a_bang_first_in_shadow(tmp_path: Path) -> None:
    shadow = tmp_path / "shadow"
    shadow.write_text("hostwatch:!*:19000::::::\nops:$y$j9T$abc:19000:0:99999:7:::\nbroken\n")
    assert shadow_locks(str(shadow)) == {"hostwatch": True, "ops": False}
    assert shadow_locks(str(tmp_path / "none")) == {}
