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


SITE = "/etc/nginx/sites-available/hostwatch.conf"
# A change made by hand, and the command that reads what it changed.
DRIFT = [
    (f"chmod 0600 {SITE}", f"stat -c '%a %G' {SITE}"),
    ("echo '# edited' >> /etc/logrotate.d/hostwatch", "sha256sum /etc/logrotate.d/hostwatch"),
    (
        "echo '# edited' >> /etc/systemd/system/hostwatch.socket",
        "sha256sum /etc/systemd/system/hostwatch.socket",
    ),
    ("chgrp root /etc/hostwatch", "stat -c '%a %G' /etc/hostwatch"),
    (
        "ln -s ../sites-available/default /etc/nginx/sites-enabled/default",
        "ls /etc/nginx/sites-enabled",
    ),
    (
        "rm /etc/nginx/sites-enabled/hostwatch.conf",
        "readlink /etc/nginx/sites-enabled/hostwatch.conf",
    ),
    ("echo test > /opt/hostwatch/restart-requested", "ls /opt/hostwatch"),
    # the same release, named another way: only the link's text differs
    (
        'ln -sfn "$(readlink -f /opt/hostwatch/current)" /opt/hostwatch/current',
        "readlink /opt/hostwatch/current",
    ),
    ("systemctl disable hostwatch.socket", "systemctl is-enabled hostwatch.socket"),
    ("systemctl stop nginx", "systemctl is-active nginx"),
    (
        "usermod -s /bin/bash hostwatch && gpasswd -d hostwatch adm",
        "getent passwd hostwatch; id -nG hostwatch",
    ),
]


def test_changes_made_on_a_host_are_put_back():
    """Roles skip what one look (the survey) shows right: drift on a host must still be seen."""
    name, host = next(iter(hosts().items()))

    def state():
        return [host.run(read).stdout for _, read in DRIFT]

    wanted = state()
    for change, _ in DRIFT:
        assert host.run(change).rc == 0, change
    changed = [a != b for a, b in zip(state(), wanted, strict=True)]
    assert all(changed), f"a change by hand changed nothing: {changed}"

    run = converge("--limit", name)
    assert run.returncode == 0, run.stdout + run.stderr
    assert recap(run.stdout)[name]["changed"] >= len(DRIFT), run.stdout
    assert state() == wanted
    assert http(host, "http://127.0.0.1/health/live").status == 200

    again = converge("--limit", name)
    assert recap(again.stdout)[name]["changed"] == 0, again.stdout
