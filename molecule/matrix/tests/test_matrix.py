"""Each core of tests/matrix/ansible-core.txt on a Python 3.13 controller, on a fresh target each.

From the controller container (docker exec; its venvs and collections are prepare.yml's), per core
and side by side: site.yml on the fresh target (converge), site.yml again (idempotence: changed=0
in PLAY RECAP), deploy.yml after the target's release link moved from A to B, status.yml (read-only,
the release it reports is B's). Every warning a run printed is collected; the matrix and its times
are printed at the end.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PROJECT = Path(os.environ["MOLECULE_PROJECT_DIRECTORY"])
RELEASES = Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "releases"
CONTROLLER = "hostwatch-matrix-controller"
CORES = [
    line.split("==")[1]
    for line in (PROJECT / "tests" / "matrix" / "ansible-core.txt").read_text().splitlines()
    if line.startswith("ansible-core==")
]
STEPS = ["converge", "idempotence", "deploy", "status"]
RECAP = re.compile(
    r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE
)
# Deprecations the collection triggers on a newer core and cannot fix yet, with the core that
# removes what they name (README "Requirements"); any other warning fails test_no_other_warnings.
KNOWN_WARNINGS: dict[str, str] = {}


def minor(core: str) -> str:
    return ".".join(core.split(".")[:2])


def target(core: str) -> str:
    """The fresh target of a core (controller/hosts.yml)."""
    return f"hostwatch-matrix-{minor(core).replace('.', '-')}"


def content_hash(source: Path) -> str:
    """The content hash the app role names a release by (its own build script's)."""
    path = PROJECT / "roles" / "app" / "files" / "build_artifact.py"
    spec = importlib.util.spec_from_file_location("build_artifact", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return str(module.content_hash(source))[:12]


def controller(core: str, *argv: str) -> subprocess.CompletedProcess[str]:
    """A command of core's venv on the controller, as an operator runs it there."""
    venv = f"/opt/ansible-{minor(core)}"
    env = [f"ANSIBLE_COLLECTIONS_PATH={venv}/collections", "ANSIBLE_CONFIG=/controller/ansible.cfg"]
    env += ["ANSIBLE_FORCE_COLOR=0", "ANSIBLE_NOCOLOR=1"]
    cmd = ["docker", "exec", "-w", "/root", *(f"--env={e}" for e in env), CONTROLLER]
    cmd += [f"{venv}/bin/{argv[0]}", *argv[1:]]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=1200, check=False)


def controller_cat(path: str) -> str:
    cmd = ["docker", "exec", CONTROLLER, "cat", path]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def warnings_of(stderr: str) -> list[str]:
    """Each warning a run printed (a `[WARNING]` or `[DEPRECATION WARNING]` and its own lines)."""
    blocks = re.split(r"\n(?=\[)", stderr.strip())
    return [" ".join(b.split()) for b in blocks if re.match(r"\[(DEPRECATION )?WARNING\]", b)]


@dataclass
class Run:
    core: str
    seconds: dict[str, float] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    failure: str = ""
    status: dict[str, dict[str, object]] = field(default_factory=dict)  # status.yml's row, per step
    version: str = ""

    def step(self, name: str, playbook: str, *args: str) -> None:
        if self.failure:
            return
        host = target(self.core)
        start = time.monotonic()
        run = controller(
            self.core, "ansible-playbook", "-i", "/controller/hosts.yml", "--limit", host,
            f"hostwatch.stack.{playbook}", *args,
        )  # fmt: skip
        self.seconds[name] = time.monotonic() - start
        self.warnings += [f"{name}: {w}" for w in warnings_of(run.stderr)]
        recap = {m[0]: [int(n) for n in m[1:]] for m in RECAP.findall(run.stdout)}
        if run.returncode != 0 or host not in recap or recap[host][2:] != [0, 0]:
            tail = "\n".join((run.stdout + run.stderr).splitlines()[-40:])
            self.failure = f"{name} failed (rc {run.returncode}):\n{tail}"
            return
        self.changed[name] = recap[host][1]
        if playbook == "status":
            out = args[-1].partition("=")[2]
            rows = json.loads(controller_cat(out))
            self.status[name] = {row["host"]: row for row in rows}[host]


def desire(core: str, release: str) -> None:
    """Point the target's release link (its inventory's hostwatch_app_source) at a release."""
    link = RELEASES / target(core)
    (RELEASES / f"{target(core)}.new").symlink_to(release)
    (RELEASES / f"{target(core)}.new").replace(link)


def run_core(core: str) -> Run:
    run = Run(core)
    version = controller(core, "ansible-playbook", "--version")
    python = version.stdout.partition("python version = ")[2].split(" ")[0]
    run.version = f"{' '.join(version.stdout.split()[:3])} / Python {python}"
    desire(core, "A")
    run.step("converge", "site")
    run.step("idempotence", "site")
    out = f"hostwatch_deploy_status_json=/root/{target(core)}"
    run.step("status A", "status", "-e", f"{out}-A.json")
    desire(core, "B")  # as an operator edits the inventory
    run.step("deploy", "deploy")
    run.step("status", "status", "-e", f"{out}-B.json")
    return run


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Run]]:
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(CORES)) as pool:
        done = dict(zip(CORES, pool.map(run_core, CORES), strict=True))
    wall = time.monotonic() - start
    yield done
    print(f"\nansible-core matrix, Python 3.13 controller (side by side, {wall:.0f} s in all):")
    print(f"{'core':<10} {'target':<22}" + "".join(f"{s:>13}" for s in STEPS) + "  release")
    for core, run in done.items():
        cells = "".join(
            f"{run.seconds[s]:>7.1f} s c={run.changed[s]:<2}" if s in run.changed else f"{'-':>13}"
            for s in STEPS
        )
        release = run.status.get("status", {}).get("release", run.failure[:40])
        print(f"{core:<10} {target(core):<22}{cells}  {release}")
    for core, run in done.items():
        print(f"{core} ({run.version}): {len(run.warnings)} warning(s)")
        for warning in run.warnings:
            print(f"  {warning}")


@pytest.mark.parametrize("core", CORES)
def test_controller_runs_the_core_on_python_313(runs: dict[str, Run], core: str) -> None:
    assert runs[core].version.startswith(f"ansible-playbook [core {core}]"), runs[core].version
    assert "/ Python 3.13." in runs[core].version, runs[core].version


@pytest.mark.parametrize("core", CORES)
def test_converge_of_a_fresh_host(runs: dict[str, Run], core: str) -> None:
    assert not runs[core].failure, runs[core].failure
    assert runs[core].changed["converge"] > 0


@pytest.mark.parametrize("core", CORES)
def test_idempotence(runs: dict[str, Run], core: str) -> None:
    assert not runs[core].failure, runs[core].failure
    assert runs[core].changed["idempotence"] == 0


@pytest.mark.parametrize("core", CORES)
def test_deploy_of_a_new_release_and_status_sees_it(runs: dict[str, Run], core: str) -> None:
    run = runs[core]
    assert not run.failure, run.failure
    assert run.changed["deploy"] > 0
    # read-only; the release it reports is named by A's content hash after the converge, by B's
    # after the deploy
    assert run.changed["status A"] == 0 and run.changed["status"] == 0
    hashes = {name: content_hash(RELEASES / name) for name in ("A", "B")}
    assert hashes["A"] != hashes["B"]
    for step, release in (("status A", "A"), ("status", "B")):
        row = run.status[step]
        assert str(row["release"]).endswith("-" + hashes[release]), (step, row)
        assert row["units"] == {
            "hostwatch.socket": "active",
            "hostwatch.service": "active",
            "nginx.service": "active",
        }, (step, row)
        assert row["health"] in ("pass", "warn") and row["http_status"] == 200, (step, row)
    both = sorted(str(run.status[step]["release"]) for step in ("status A", "status"))
    assert run.status["status"]["releases"] == both, run.status["status"]


@pytest.mark.parametrize("core", CORES)
def test_no_other_warnings(runs: dict[str, Run], core: str) -> None:
    unknown = [w for w in runs[core].warnings if not any(k in w for k in KNOWN_WARNINGS)]
    assert not unknown, unknown
