"""hostwatch.stack.not_in_place: the managed paths a role must still write, from one survey."""

from __future__ import annotations

import hashlib
import os.path
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: not_in_place
short_description: The managed paths that are not on the host as stated
description:
  - A role states each path it manages once, as data (path, what must be there, owner, group,
    mode). This filter compares that list with the registered result of one
    M(hostwatch.stack.survey) and keeps the entries a file task would still change, so a re-run
    writes nothing and costs one round trip.
  - An entry is left out only when the survey shows exactly the stated state. Anything else stays
    in, and so does the unknown (a survey that did not run or failed, a path it did not read).
  - Each entry comes back as a plain dict with its O(_input[].state) filled in (and its
    O(_input[].content) rendered), ready for the task that writes it.
options:
  _input:
    description: The managed paths.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: The path on the host.
        type: path
        required: true
      state:
        description: What must be there.
        type: str
        choices: [file, directory, link, absent]
        default: file
      content:
        description: A file's content (compared by checksum); required for a file.
        type: str
      owner:
        description: Owner name; required for a file or directory.
        type: str
      group:
        description: Group name; required for a file or directory.
        type: str
      mode:
        description: Permissions, octal; required for a file or directory.
        type: str
      src:
        description: What a link points to, as written in it; required for a link.
        type: str
  found:
    description: The registered result of M(hostwatch.stack.survey) that read these paths.
    type: dict
    required: true
"""

EXAMPLES = r"""
# In the role's vars/main.yml, each managed path stated once:
# _site:
#   - path: /etc/nginx/sites-available/hostwatch.conf
#     content: "{{ lookup('ansible.builtin.template', 'hostwatch.conf.j2') }}"
#     owner: root
#     group: root
#     mode: "0644"
#   - path: /etc/nginx/sites-enabled/hostwatch.conf
#     state: link
#     src: /etc/nginx/sites-available/hostwatch.conf

# In its tasks, one look, then one task per module for what is not in place:
- name: Read the site as it is on the host
  hostwatch.stack.survey:
    paths: "{{ _site | map(attribute='path') }}"
  register: _found

- name: Write the site where it is not in place
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "{{ item.path }}"
    owner: "{{ item.owner }}"
    group: "{{ item.group }}"
    mode: "{{ item.mode }}"
  loop: "{{ _site | hostwatch.stack.not_in_place(_found) | selectattr('state', '==', 'file') }}"
"""

RETURN = r"""
_value:
  description: The entries not known to be in place, in the order given.
  type: list
  elements: dict
"""

STATES = {"file": "file", "directory": "directory", "link": "link", "absent": None}
REQUIRED = {
    "file": ("content", "owner", "group", "mode"),
    "directory": ("owner", "group", "mode"),
    "link": ("src",),
    "absent": (),
}


def checked(entry: Mapping[str, Any]) -> dict[str, Any]:
    """The entry as a plain dict (values rendered once) with its state; refused if incomplete."""
    entry = dict(entry)
    state = entry.setdefault("state", "file")
    if "path" not in entry or state not in STATES:
        raise AnsibleFilterError(
            f"not_in_place: an entry needs a path and a state in {sorted(STATES)}: {entry}"
        )
    missing = [key for key in REQUIRED[state] if entry.get(key) is None]
    if missing:
        raise AnsibleFilterError(
            f"not_in_place: {entry['path']} ({state}) states no {', '.join(missing)}"
        )
    return entry


def in_place(entry: dict[str, Any], found: Any) -> bool:
    if not isinstance(found, Mapping) or found.get("failed") or found.get("skipped"):
        return False
    seen = (found.get("paths") or {}).get(os.path.normpath(entry["path"]))
    if not isinstance(seen, Mapping) or "exists" not in seen:
        return False
    if entry["state"] == "absent":
        return not seen["exists"]
    if seen.get("type") != STATES[entry["state"]]:
        return False
    if entry["state"] == "link":  # its own owner and mode mean nothing: only its target
        return bool(seen.get("target") == entry["src"])
    if (seen.get("owner"), seen.get("group")) != (entry["owner"], entry["group"]):
        return False
    if int(str(seen.get("mode")), 8) != int(str(entry["mode"]), 8):
        return False
    if entry["state"] == "directory":
        return True
    # the survey's checksum is SHA-1, as the copy module compares: identity, not security
    digest = hashlib.sha1(str(entry["content"]).encode(), usedforsecurity=False).hexdigest()
    return bool(seen.get("checksum") == digest)


def not_in_place(entries: list[Mapping[str, Any]], found: Any) -> list[dict[str, Any]]:
    return [entry for entry in map(checked, entries) if not in_place(entry, found)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"not_in_place": not_in_place}
