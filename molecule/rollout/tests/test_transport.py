"""How the scenario reaches its hosts, and what a hardened host does to the files the roles make.

The playbooks (converge, every step of test_rollout.py) reach the hosts through the
molecule inventory: over SSH as the sudoer deploy, roll-2 hardened (prepare.yml, host_vars/). These
tests ask the hosts through that same inventory, so they fail if a play could have gone another way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from stackcheck import converge

INVENTORY = os.environ["MOLECULE_INVENTORY_FILE"]
# the addresses of host_vars/
HOSTS = {
    "hostwatch-roll-1": "172.30.2.11",
    "hostwatch-roll-2": "172.30.2.12",
    "hostwatch-roll-3": "172.30.2.13",
}
HARDENED = "hostwatch-roll-2"
CURRENT = "/opt/hostwatch/current"
MARKER = ".hostwatch-release-verified"


def adhoc(command: str, *args: str) -> dict[str, dict[str, Any]]:
    """`sh -c command` on every host by ansible, as the inventory reaches them: host -> result."""
    env = {**os.environ, "ANSIBLE_LOAD_CALLBACK_PLUGINS": "1", "ANSIBLE_STDOUT_CALLBACK": "json"}
    run = subprocess.run(
        [
            *("ansible", "-i", INVENTORY, "hostwatch", "-m", "ansible.builtin.command"),
            *("-a", json.dumps({"argv": ["sh", "-c", command]}), *args),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )
    found = json.loads(run.stdout)["plays"][0]["tasks"][0]["hosts"]
    assert set(found) == set(HOSTS), run.stdout + run.stderr
    return dict(found)


def test_plays_log_in_over_ssh_as_deploy() -> None:
    # SSH_CONNECTION is set by sshd only: a docker exec has none
    for name, result in adhoc('id -un; echo "$SSH_CONNECTION"').items():
        assert result["rc"] == 0, (name, result)
        user, ssh = result["stdout"].splitlines()
        print(f"{name}: logged in as {user} over SSH ({ssh})")
        assert user == "deploy", (name, user)
        assert ssh.split()[2] == HOSTS[name], (name, ssh)


def test_host_keys_are_checked() -> None:
    # with no known host key (and no live master connection to reuse) no host is reached
    args = "-o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null"
    results = adhoc("true", "-e", f"ansible_ssh_common_args='{args} -o ControlPath=none'")
    for name, result in results.items():
        assert result.get("unreachable"), (name, result)
        assert "Host key verification failed" in result["msg"], (name, result["msg"])


def test_become_is_root_with_the_hosts_sudo_umask() -> None:
    for name, result in adhoc("id -un; umask", "--become").items():
        assert result["rc"] == 0, (name, result)
        user, umask = result["stdout"].splitlines()
        print(f"{name}: sudo gives {user}, umask {umask}")
        assert user == "root", (name, user)
        assert umask == ("0077" if name == HARDENED else "0022"), (name, umask)


def test_requiretty_refuses_pipelining_on_the_hardened_host() -> None:
    # what an operator meets with the repository's pipelining = True on such a host (issue 15)
    results = adhoc("true", "--become", "-e", "ansible_pipelining=true")
    assert results[HARDENED].get("rc") != 0 and results[HARDENED].get("failed"), results[HARDENED]
    assert "must have a tty" in json.dumps(results[HARDENED]), results[HARDENED]
    for name in set(HOSTS) - {HARDENED}:
        assert results[name]["rc"] == 0, (name, results[name])


@pytest.fixture(scope="module")
def release() -> str:
    """The current release's directory (the same on every host after the rollout steps)."""
    results = adhoc(f"readlink -f {CURRENT}")
    dirs = {result["stdout"] for result in results.values()}
    assert len(dirs) == 1 and all(d.startswith("/opt/hostwatch/releases/") for d in dirs), dirs
    return dirs.pop()


def test_what_the_service_and_nginx_read_has_its_modes_on_every_host(release: str) -> None:
    paths = [
        "/opt/hostwatch",
        "/opt/hostwatch/releases",
        release,
        f"{release}/venv",
        f"{release}/venv/bin/gunicorn",
        f"{release}/{MARKER}",
        "/etc/hostwatch",
        "/etc/hostwatch/hostwatch.toml",
        "/etc/systemd/system/hostwatch.service",
        "/etc/nginx/sites-available/hostwatch.conf",
        "/etc/nginx/snippets/hostwatch-security-headers.conf",
        "/etc/logrotate.d/hostwatch",
    ]
    # every directory of the venv open and every file readable to others (the service user)
    closed = "\\( -type d ! -perm -0005 \\) -o \\( -type f ! -perm -0004 \\)"
    unreadable = f"find {release}/venv {closed} | head -5"
    results = adhoc(f"stat -c '%a %U:%G %n' {' '.join(paths)}; echo --; {unreadable}", "--become")
    expected = {
        "/opt/hostwatch": "755 root:root",
        "/opt/hostwatch/releases": "755 root:root",
        release: "755 root:root",
        f"{release}/venv": "755 root:root",
        f"{release}/venv/bin/gunicorn": "755 root:root",
        f"{release}/{MARKER}": "644 root:root",
        "/etc/hostwatch": "750 root:hostwatch",
        "/etc/hostwatch/hostwatch.toml": "640 root:hostwatch",
        "/etc/systemd/system/hostwatch.service": "644 root:root",
        "/etc/nginx/sites-available/hostwatch.conf": "644 root:root",
        "/etc/nginx/snippets/hostwatch-security-headers.conf": "644 root:root",
        "/etc/logrotate.d/hostwatch": "644 root:root",
    }
    for name, result in results.items():
        assert result["rc"] == 0, (name, result)
        modes, _, bad = result["stdout"].partition("--")
        seen = {line.split()[2]: " ".join(line.split()[:2]) for line in modes.splitlines()}
        if name == HARDENED:
            print(f"{name} (sudo umask 0077):", *(f"{v} {k}" for k, v in seen.items()), sep="\n  ")
        assert seen == expected, (name, seen)
        assert not bad.strip(), (name, "not readable by the service user", bad)


def test_a_release_the_service_user_cannot_run_is_refused_and_removed() -> None:
    # Issue 15's first converge on the hardened host, replayed with the role's umask knocked out:
    # the venv is root's alone, so the check as the service user must refuse it before the mark.
    source = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases" / "root-only"
    shutil.rmtree(source, ignore_errors=True)
    shutil.copytree(source.parent / "A", source)
    with (source / "src" / "hostwatch" / "__init__.py").open("a") as init:
        init.write("# rollout scenario release root-only\n")  # a content of its own: a new release
    before = adhoc(f"readlink {CURRENT}; ls /opt/hostwatch/releases")[HARDENED]["stdout"]
    run = converge(
        *("--limit", HARDENED, "-e", f"hostwatch_app_source={source}"),
        *("-e", json.dumps({"_hostwatch_app_umask_0022": []})),
    )
    said = " ".join((run.stdout + run.stderr).split())  # the callback wraps long messages
    assert run.returncode != 0, said
    assert re.search(
        r"Installing release \S+ failed at 'Prove gunicorn starts and imports the app as the"
        r" service user, hostwatch': runuser: failed to execute \S+/venv/bin/gunicorn:"
        r" Permission denied",
        said,
    ), said
    # nothing left of it, current not switched
    assert adhoc(f"readlink {CURRENT}; ls /opt/hostwatch/releases")[HARDENED]["stdout"] == before
