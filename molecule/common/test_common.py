"""What every scenario's converged hosts must be, whatever the variables (run once per host)."""

from __future__ import annotations

import re

# The stack's hosts, not the other machines of a scenario (a client, an attacker); a scenario that
# names its hosts on the command line (verifier options) overrides this.
testinfra_hosts = ["ansible://hostwatch"]


def test_units_active_and_enabled(host):
    for unit in ("hostwatch.socket", "hostwatch.service", "nginx.service"):
        svc = host.service(unit)
        assert svc.is_running, unit
        assert svc.is_enabled, unit


def test_app_processes_run_as_hostwatch(host):
    procs = host.process.filter(comm="gunicorn")
    assert len(procs) >= 2, "expected a gunicorn master and at least one worker"
    assert {p.user for p in procs} == {"hostwatch"}


def test_unit_exposure_is_two_or_lower(host):
    out = host.check_output("systemd-analyze security --no-pager hostwatch.service")
    match = re.search(r"Overall exposure level for hostwatch\.service: (\d+\.\d+)", out)
    assert match, out
    exposure = float(match.group(1))
    print(f"{host.backend.get_hostname()}: systemd-analyze exposure {exposure}")
    assert exposure <= 2.0
