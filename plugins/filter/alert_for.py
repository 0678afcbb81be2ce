"""hostwatch.stack.alert_for: Prometheus rules with the `for` of some alerts changed."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

DOCUMENTATION = r"""
name: alert_for
short_description: Prometheus rules with the C(for) of some alerts changed
description:
  - Takes a Prometheus rules document (as loaded from YAML) and returns a copy in which each named
    alert waits the given duration before it fires. The rules themselves are not touched, so the
    shipped expressions stay the ones the unit tests prove.
  - An alert name that is not in the rules, or a duration Prometheus would refuse, is an error, so
    that a typo never leaves an alert on a duration nobody chose.
options:
  _input:
    description: The rules document, with its C(groups).
    type: dict
    required: true
  durations:
    description: Alert name to Prometheus duration (C(30s), C(5m), C(1h30m)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the rules with a shorter wait for the failing check
  ansible.builtin.copy:
    content: >-
      {{ lookup('ansible.builtin.file', 'hostwatch.yml') | from_yaml
         | hostwatch.stack.alert_for({'HostwatchCheckFailing': '10s'})
         | to_nice_yaml(sort_keys=false) }}
    dest: /etc/prometheus/rules/hostwatch.rules
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The rules document with the given alerts' C(for) set.
  type: dict
"""

# Prometheus' duration syntax: units in decreasing order, each at most once.
DURATION = re.compile(r"(?:\d+y)?(?:\d+w)?(?:\d+d)?(?:\d+h)?(?:\d+m)?(?:\d+s)?(?:\d+ms)?")


def alert_for(rules: Mapping[str, Any], durations: Mapping[str, str]) -> dict[str, Any]:
    bad = {name: d for name, d in durations.items() if not (d and DURATION.fullmatch(str(d)))}
    if bad:
        raise AnsibleFilterError(f"alert_for: not a Prometheus duration: {bad}")
    doc = copy.deepcopy(dict(rules))
    missing = set(durations)
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert")
            if name in durations:
                rule["for"] = str(durations[name])
                missing.discard(name)
    if missing:
        raise AnsibleFilterError(f"alert_for: no alert named {sorted(missing)} in the rules")
    return doc


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"alert_for": alert_for}
