"""hostwatch.stack.in_place: is a path on the host already as a file task would leave it?"""

from __future__ import annotations

import hashlib
import os.path
from typing import Any

DOCUMENTATION = r"""
name: in_place
short_description: Is a path on the host already as a file task would leave it
description:
  - Answers from the registered result of one M(ansible.builtin.find) (with C(get_checksum),
    C(file_type=any)) instead of asking the host again, so a role can skip the file tasks whose
    result is already known and re-run with one round trip instead of one or two per file.
  - The find must have looked where the path is (its directory in C(paths), its name matched by
    C(patterns)); a path it did not list counts as absent. True only for exactly the expected state;
    anything else is false, and the task runs.
options:
  _input:
    description: The path on the host.
    type: path
    required: true
  found:
    description: The registered result of M(ansible.builtin.find).
    type: dict
    required: true
  content:
    description: The content the file must have (for O(state=file)); not compared when omitted.
    type: str
  owner:
    description: Owner name.
    type: str
    default: root
  group:
    description: Group name.
    type: str
    default: root
  mode:
    description: Permissions, octal.
    type: str
    default: '0644'
  state:
    description:
      - What the path must be.
      - V(present) is anything at all there; owner, group and mode are not compared then.
    type: str
    choices: [file, directory, present, absent]
    default: file
"""

EXAMPLES = r"""
- name: Read the unit as it is on the host
  ansible.builtin.find:
    paths: /etc/systemd/system
    patterns: hostwatch.service
    get_checksum: true
    file_type: any
  register: _found

- name: Install hostwatch.service
  ansible.builtin.template:
    src: hostwatch.service.j2
    dest: /etc/systemd/system/hostwatch.service
    owner: root
    group: root
    mode: "0644"
  when: >-
    '/etc/systemd/system/hostwatch.service' is not hostwatch.stack.in_place(_found,
    content=lookup('ansible.builtin.template', 'hostwatch.service.j2'))
"""

RETURN = r"""
_value:
  description: Whether the path is known to be in the expected state.
  type: bool
"""


def in_place(
    path: str,
    found: dict[str, Any],
    content: str | None = None,
    owner: str = "root",
    group: str = "root",
    mode: str = "0644",
    state: str = "file",
) -> bool:
    if not isinstance(found, dict) or found.get("failed") or found.get("skipped"):
        return False
    path = os.path.normpath(path)
    if os.path.dirname(path) in (found.get("skipped_paths") or {}):
        return False
    entry = next((f for f in found.get("files", []) if f.get("path") == path), None)
    if state in ("absent", "present"):
        return (entry is None) == (state == "absent")
    if entry is None or entry.get("pw_name") != owner or entry.get("gr_name") != group:
        return False
    if int(str(entry.get("mode")), 8) != int(str(mode), 8):
        return False
    if state == "directory":
        return bool(entry.get("isdir"))
    if not entry.get("isreg"):
        return False
    if content is None:
        return True
    # find's checksum is SHA-1, as in the template module's own comparison: identity, not security
    digest = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
    return bool(entry.get("checksum") == digest)


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"in_place": in_place}
