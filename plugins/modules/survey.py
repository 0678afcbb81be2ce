#!/usr/bin/python
"""hostwatch.stack.survey: the state of a role's paths and systemd units, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
module: survey
short_description: Read the state of some paths, systemd units, users and groups in one round trip
description:
  - Reads what a role's file and service tasks would look at (type, owner, group, mode, content
    checksum, link target; a unit's load, active and enable state; a user's or group's entry), so
    that the role can skip the tasks whose result is already known (see the
    P(hostwatch.stack.not_in_place#filter) filter) and re-run with one round trip instead of one or
    two per task.
  - Read-only, so it runs in check mode too and never reports a change.
options:
  paths:
    description:
      - Paths to read. Links are not followed.
      - A path with C(*), C(?) or C([) is a shell pattern; it adds every path it matches and
        nothing when none does. Any other path is always in the result, with RV(paths.exists=false)
        when missing.
    type: list
    elements: path
    default: []
  checksum:
    description: Compute the SHA-1 of each regular file (what M(ansible.builtin.template) compares).
    type: bool
    default: true
  units:
    description:
      - systemd units to read with C(systemctl show), by their full names (V(nginx.service)).
      - Without C(systemctl) on the host the result has no RV(units), and nothing counts as known.
    type: list
    elements: str
    default: []
  users:
    description: Users to read from the host's user database (and C(/etc/shadow) for the lock).
    type: list
    elements: str
    default: []
  groups:
    description: Groups to read from the host's group database.
    type: list
    elements: str
    default: []
author: hostwatch developers (@hostwatch)
"""

EXAMPLES = r"""
- name: Read the site, its link and nginx's unit as they are on the host
  hostwatch.stack.survey:
    paths:
      - /etc/nginx/sites-available/hostwatch.conf
      - /etc/nginx/sites-enabled/hostwatch.conf
    units: [nginx.service]
  register: _found

- name: Keep nginx enabled and running
  ansible.builtin.systemd_service:
    name: nginx.service
    enabled: true
    state: started
  vars:
  when: not (_found.units['nginx.service'].up | default(false))
"""

RETURN = r"""
paths:
  description: Each path read (and each match of a pattern), by its normalised path.
  type: dict
  returned: always
  contains:
    exists:
      description: Whether anything is there.
      type: bool
    type:
      description: V(file), V(directory), V(link) or V(other).
      type: str
    owner:
      description: Owner name (the uid as a string when it has no name).
      type: str
    group:
      description: Group name (the gid as a string when it has no name).
      type: str
    mode:
      description: Permission bits, four octal digits.
      type: str
      sample: '0644'
    checksum:
      description: SHA-1 of a regular file's content, with O(checksum).
      type: str
    error:
      description: Why the path or its content could not be read (what is missing is then unknown).
      type: str
    target:
      description: What a link points to, as written in the link.
      type: str
  sample:
    /etc/hostwatch: {exists: true, type: directory, owner: root, group: hostwatch, mode: '0750'}
    /etc/hostwatch/hostwatch.toml: {exists: false}
units:
  description:
    - Each unit's LoadState, ActiveState and UnitFileState, as C(systemctl show) says, and V(up).
    - V(up) is true when the unit is loaded, active and enabled, as a
      M(ansible.builtin.systemd_service) task with
      O(ansible.builtin.systemd_service#module:enabled=true) and
      O(ansible.builtin.systemd_service#module:state=started) leaves it.
  type: dict
  returned: when O(units) is set and the host has C(systemctl)
  sample:
    nginx.service: {load: loaded, active: active, enabled: enabled, up: true}
users:
  description: Each user asked, by name.
  type: dict
  returned: always
  contains:
    exists:
      description: Whether the user database has it.
      type: bool
    uid:
      description: User id.
      type: int
    gid:
      description: Primary group id.
      type: int
    home:
      description: Home directory.
      type: str
    shell:
      description: Login shell.
      type: str
    groups:
      description: Supplementary groups, sorted.
      type: list
      elements: str
    locked:
      description:
        - Whether the password is locked (C(!) first in C(/etc/shadow)).
        - Null when that file cannot be read.
      type: bool
  sample:
    hostwatch: {exists: true, uid: 998, gid: 998, home: /opt/hostwatch, shell: /usr/sbin/nologin,
                groups: [adm], locked: true}
groups:
  description: Each group asked, by name.
  type: dict
  returned: always
  contains:
    exists:
      description: Whether the group database has it.
      type: bool
    gid:
      description: Group id.
      type: int
  sample:
    hostwatch: {exists: true, gid: 998}
"""

import glob
import grp
import hashlib
import os
import pwd
import stat
from typing import Any

from ansible.module_utils.basic import AnsibleModule

PATTERN_CHARS = frozenset("*?[")


def name_of(lookup: Any, ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)


def sha1(path: str) -> str:
    digest = hashlib.sha1()  # noqa: S324 -- identity, as the template module compares it, not security
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def read_path(path: str, checksum: bool) -> dict[str, Any]:
    try:
        st = os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        return {"exists": False}
    except OSError as err:  # not known either way: a task that trusts the survey runs
        return {"error": err.strerror}
    kinds = ((stat.S_ISREG, "file"), (stat.S_ISDIR, "directory"), (stat.S_ISLNK, "link"))
    kind = next((name for test, name in kinds if test(st.st_mode)), "other")
    entry = {
        "exists": True,
        "type": kind,
        "owner": name_of(pwd.getpwuid, st.st_uid),
        "group": name_of(grp.getgrgid, st.st_gid),
        "mode": f"{stat.S_IMODE(st.st_mode):04o}",
    }
    if kind == "link":
        entry["target"] = os.readlink(path)
    elif kind == "file" and checksum:
        try:
            entry["checksum"] = sha1(path)
        except OSError as err:  # no checksum: content counts as not known
            entry["error"] = err.strerror
    return entry


def read_paths(paths: list[str], checksum: bool) -> dict[str, dict[str, Any]]:
    found = {}
    for path in paths:
        matches = sorted(glob.glob(path)) if PATTERN_CHARS & set(path) else [path]
        for match in matches:
            found[os.path.normpath(match)] = read_path(match, checksum)
    return found


def shadow_locks(path: str = "/etc/shadow") -> dict[str, bool]:
    """Whose password is locked (`!` first, as usermod -L leaves it); nothing when unreadable."""
    try:
        with open(path, encoding="utf-8") as f:
            entries = [line.split(":") for line in f if ":" in line]
    except OSError:
        return {}
    return {e[0]: e[1].startswith("!") for e in entries}


def read_users(names: list[str], locks: dict[str, bool]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            pw = pwd.getpwnam(name)
        except KeyError:
            found[name] = {"exists": False}
            continue
        found[name] = {
            "exists": True,
            "uid": pw.pw_uid,
            "gid": pw.pw_gid,
            "home": pw.pw_dir,
            "shell": pw.pw_shell,
            "groups": sorted(g.gr_name for g in grp.getgrall() if name in g.gr_mem),
            "locked": locks.get(name),
        }
    return found


def read_groups(names: list[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for name in names:
        try:
            found[name] = {"exists": True, "gid": grp.getgrnam(name).gr_gid}
        except KeyError:
            found[name] = {"exists": False}
    return found


KEYS = {"LoadState": "load", "ActiveState": "active", "UnitFileState": "enabled"}


def parse_show(names: list[str], output: str) -> dict[str, dict[str, Any]]:
    """`systemctl show` prints one block per unit asked, in the order asked (a missing unit too)."""
    blocks = output.strip().split("\n\n")
    units = {}
    for name, block in zip(names, blocks):  # noqa: B905 -- no strict= before Python 3.10 (a host's)
        fields = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        unit: dict[str, Any] = {KEYS[k]: fields.get(k, "") for k in KEYS}
        unit["up"] = (unit["load"], unit["active"], unit["enabled"]) == (
            "loaded",
            "active",
            "enabled",
        )
        units[name] = unit
    return units


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "paths": {"type": "list", "elements": "path", "default": []},
            "checksum": {"type": "bool", "default": True},
            "units": {"type": "list", "elements": "str", "default": []},
            "users": {"type": "list", "elements": "str", "default": []},
            "groups": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    result: dict[str, Any] = {"changed": False}
    result["paths"] = read_paths(module.params["paths"], module.params["checksum"])
    locks = shadow_locks() if module.params["users"] else {}
    result["users"] = read_users(module.params["users"], locks)
    result["groups"] = read_groups(module.params["groups"])
    systemctl = module.get_bin_path("systemctl")
    if module.params["units"] and systemctl:
        names = module.params["units"]
        show = [systemctl, "show", "--property=" + ",".join(KEYS), "--", *names]
        rc, out, err = module.run_command(show)
        if rc != 0:
            module.fail_json(msg=f"systemctl show failed: {err.strip()}", rc=rc, **result)
        result["units"] = parse_show(names, out)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
