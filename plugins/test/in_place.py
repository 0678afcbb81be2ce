"""hostwatch.stack.in_place: is a path on the host already as a file task would leave it?"""

from __future__ import annotations

import hashlib
import os.path
from typing import Any

DOCUMENTATION = r"""
name: in_place
short_description: Is a path on the host already as a file task would leave it
description:
  - Answers from the registered result of one M(hostwatch.stack.survey) instead of asking the host
    again, so a role can skip the file tasks whose result is already known and re-run with one round
    trip instead of one or two per file.
  - True only for exactly the expected state. Anything else is false, and the task runs; so is the
    unknown (a survey that did not run or failed, a path it did not read).
options:
  _input:
    description: The path on the host.
    type: path
    required: true
  found:
    description: The registered result of M(hostwatch.stack.survey).
    type: dict
    required: true
  content:
    description: The content the file must have (for O(state=file)); not compared when omitted.
    type: str
  owner:
    description: Owner name (not compared for O(state=link)).
    type: str
    default: root
  group:
    description: Group name (not compared for O(state=link)).
    type: str
    default: root
  mode:
    description: Permissions, octal (not compared for O(state=link)).
    type: str
    default: '0644'
  src:
    description: What the link must point to, as written in it (for O(state=link)).
    type: str
  state:
    description:
      - What the path must be.
      - V(present) is anything at all there; owner, group and mode are not compared then.
    type: str
    choices: [file, directory, link, present, absent]
    default: file
"""

EXAMPLES = r"""
- name: Read the unit as it is on the host
  hostwatch.stack.survey:
    paths: [/etc/systemd/system/hostwatch.service]
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
    src: str | None = None,
    state: str = "file",
) -> bool:
    if not isinstance(found, dict) or found.get("failed") or found.get("skipped"):
        return False
    entry = (found.get("paths") or {}).get(os.path.normpath(path))
    if not isinstance(entry, dict) or "exists" not in entry:
        return False
    if state in ("absent", "present"):
        return bool(entry["exists"]) == (state == "present")
    kind = {"file": "file", "directory": "directory", "link": "link"}.get(state)
    if entry.get("type") != kind:
        return False
    if kind == "link":
        return src is not None and entry.get("target") == src
    if entry.get("owner") != owner or entry.get("group") != group:
        return False
    if int(str(entry.get("mode")), 8) != int(str(mode), 8):
        return False
    if kind == "directory" or content is None:
        return True
    # the survey's checksum is SHA-1, as the template module compares: identity, not security
    digest = hashlib.sha1(content.encode(), usedforsecurity=False).hexdigest()
    return bool(entry.get("checksum") == digest)


class TestModule:
    def tests(self) -> dict[str, Any]:
        return {"in_place": in_place}
