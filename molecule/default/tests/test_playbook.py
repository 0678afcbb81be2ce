"""Site playbook runs against the converged hosts, from the controller (once, not per host)."""

from __future__ import annotations

import os

import pytest
import testinfra
from conftest import ADDRESSES, converge, http, recap


def hosts():
    inventory = os.environ["MOLECULE_INVENTORY_FILE"]
    return {
        name: testinfra.get_host(f"ansible://{name}", ansible_inventory=inventory)
        for name in ADDRESSES
    }


def test_check_mode_on_converged_hosts_changes_nothing():
    run = converge("--check", "--diff")
    assert run.returncode == 0, run.stdout + run.stderr
    counts = recap(run.stdout)
    assert set(counts) >= set(ADDRESSES)
    assert all(c["changed"] == 0 and c["failed"] == 0 for c in counts.values()), run.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        # a wrong type of the last-but-one role's variable (argument_specs)
        (
            '{"hostwatch_nginx_rate_limit_burst": "lots"}',
            "argument 'hostwatch_nginx_rate_limit_burst' is of type str",
        ),
        # the app's own rule, not repeated in the role: its validator, run on the controller
        (
            '{"hostwatch_app_limits": {"default_lines": 10, "max_lines": 5}}',
            "limits.default_lines: must not exceed limits.max_lines",
        ),
    ],
    ids=["wrong-type", "app-config-rule"],
)
def test_bad_variable_stops_before_any_change_naming_it(extra, message):
    run = converge("-e", extra)
    said = " ".join((run.stdout + run.stderr).split())  # the callback folds long messages
    assert run.returncode != 0
    assert message in said, said
    assert "hostwatch.stack.user :" not in run.stdout  # stopped before the first role
    assert all(c["changed"] == 0 for c in recap(run.stdout).values()), run.stdout


def test_invalid_nginx_setting_keeps_the_old_config_live():
    run = converge("-e", "hostwatch_nginx_extra_directives='no_such_directive on;'")
    said = run.stdout + run.stderr
    assert run.returncode != 0
    assert "The new nginx config was not applied" in said, said
    assert 'unknown directive "no_such_directive"' in said, said
    for name, host in hosts().items():
        site = host.file("/etc/nginx/sites-enabled/hostwatch.conf").content_string
        assert "no_such_directive" not in site, name
        assert host.run("nginx -t").rc == 0, name
        assert http(host, "http://127.0.0.1/health/live").status == 200, name


def test_changes_made_on_a_host_are_put_back():
    """Roles skip a file that one look (find) shows right: drift on a host must still be seen."""
    name, host = next(iter(hosts().items()))
    drift = {
        "/etc/nginx/sites-available/hostwatch.conf": "chmod 0600 {}",
        "/etc/logrotate.d/hostwatch": "echo '# edited' >> {}",
        "/etc/systemd/system/hostwatch.socket": "echo '# edited' >> {}",
        "/etc/hostwatch": "chgrp root {}",
        "/etc/nginx/sites-enabled/default": "ln -s /etc/nginx/sites-available/default {}",
        "/opt/hostwatch/restart-requested": "echo test > {}",
    }

    def state(path):
        f = host.file(path)
        return f.exists and (f.mode, f.group, f.sha256sum if f.is_file else None)

    wanted = {path: state(path) for path in drift}
    for path, change in drift.items():
        assert host.run(change.format(path)).rc == 0, path

    run = converge("--limit", name)
    assert run.returncode == 0, run.stdout + run.stderr
    assert recap(run.stdout)[name]["changed"] >= len(drift), run.stdout
    assert {path: state(path) for path in drift} == wanted
    assert http(host, "http://127.0.0.1/health/live").status == 200

    again = converge("--limit", name)
    assert recap(again.stdout)[name]["changed"] == 0, again.stdout
