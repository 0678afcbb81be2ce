"""hostwatch.stack.alert_for: only the named alerts' `for` changes; a typo is an error."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.hostwatch.stack.plugins.filter.alert_for import alert_for


def rules() -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": "hostwatch",
                "rules": [
                    {"record": "hostwatch:up:count", "expr": "count(up)"},
                    {"alert": "HostwatchDown", "expr": "up == 0", "for": "5m"},
                    {"alert": "HostwatchCheckFailing", "expr": "x == 1", "for": "5m"},
                ],
            }
        ]
    }


def test_only_the_named_alert_changes_and_the_input_is_kept() -> None:
    given = rules()
    out = alert_for(given, {"HostwatchCheckFailing": "10s"})
    assert [r.get("for") for r in out["groups"][0]["rules"]] == [None, "5m", "10s"]
    assert given == rules()  # a copy: the loaded rules are not changed in place


def test_no_durations_is_the_same_document() -> None:
    assert alert_for(rules(), {}) == rules()


@pytest.mark.parametrize(
    ("durations", "said"),
    [
        ({"HostwatchTypo": "10s"}, "no alert named ['HostwatchTypo']"),
        ({"HostwatchDown": "10 s"}, "not a Prometheus duration"),
        ({"HostwatchDown": "5m1h"}, "not a Prometheus duration"),  # units out of order
        ({"HostwatchDown": ""}, "not a Prometheus duration"),
    ],
)
def test_a_wrong_name_or_duration_is_an_error(durations: dict[str, str], said: str) -> None:
    with pytest.raises(AnsibleFilterError, match=said.replace("[", r"\[").replace("]", r"\]")):
        alert_for(rules(), durations)
