"""Fill the offline find-links directory of the Python 3.13 controller (`make matrix-wheels`).

Lab containers cannot reach PyPI; this machine can. For each ansible-core of
tests/matrix/ansible-core.txt it downloads, as wheels for CPython 3.13 on x86_64 glibc:
ansible-core and its dependencies, the requirements of its ansible-test sanity tests (the
files ansible-test ships) and the pip that ansible-test bootstraps into their venvs; then pip
and setuptools (the app wheel's build backend) and the app's dependencies for each lab target
Python (the wheelhouses build_artifact.py asks pip for). The controller's /etc/pip.conf
points pip at the directory with no index, so `pip install`, ansible-test's venvs and the app
role's build all resolve from it.

Also copies the collections the shipped playbooks use beyond ansible.builtin
(galaxy.yml's dependencies) out of this venv's `ansible` package: Galaxy is unreachable.

Usage: matrix_wheels.py OUT PIP_VERSION. PIP_VERSION is the controller venvs' pip: OUT/pip.whl to
run it from, OUT/pip.txt to install it. Also OUT/wheels, OUT/collections; skipped when
OUT/.complete records the same inputs.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import ansible_collections
import yaml

ROOT = Path(__file__).resolve().parent.parent
CORES = ROOT / "tests" / "matrix" / "ansible-core.txt"
# The controller's Python (Debian 13) and the lab targets' (Debian 12 and 13) with their glibc.
CONTROLLER = "3.13"
TARGETS = ["3.11:x86_64:2.36", "3.13:x86_64:2.41"]
# In ansible-test's python_requirements.py: the pip it bootstraps into each sanity venv.
BOOTSTRAP_PIP = re.compile(r"default_packages = dict\(\s*pip='([0-9.]+)'")


def cores() -> list[str]:
    lines = (line.strip() for line in CORES.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def download(dest: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    cmd += ["--only-binary=:all:", "--python-version", CONTROLLER, "--dest", str(dest), *args]
    subprocess.run(cmd, check=True)  # noqa: S603 (fixed words, pinned requirements)


def ansible_test_needs(wheel: Path, work: Path) -> tuple[list[Path], str]:
    """The sanity requirement files inside an ansible-core wheel, and its bootstrap pip."""
    files = []
    with zipfile.ZipFile(wheel) as whl:
        for name in whl.namelist():
            if re.fullmatch(r"ansible_test/_data/requirements/sanity\.[a-z0-9.-]+\.txt", name):
                files.append(Path(whl.extract(name, work)))
        code = whl.read("ansible_test/_internal/python_requirements.py").decode()
    match = BOOTSTRAP_PIP.search(code)
    if not match:
        raise SystemExit(f"{wheel.name}: no bootstrap pip version found")
    return files, match.group(1)


def collections(out: Path) -> None:
    declared = yaml.safe_load((ROOT / "galaxy.yml").read_text())["dependencies"]
    for name in declared:
        namespace, coll = name.split(".")
        src = next(Path(p) / namespace / coll for p in ansible_collections.__path__)
        dest = out / "ansible_collections" / namespace / coll
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(src, dest, ignore=shutil.ignore_patterns("__pycache__"))


def main() -> int:
    out, pip = Path(sys.argv[1]), sys.argv[2]
    inputs = [CORES, ROOT / "app" / "pyproject.toml", ROOT / "galaxy.yml", Path(__file__)]
    key = hashlib.sha256(b"".join(p.read_bytes() for p in inputs) + pip.encode()).hexdigest()
    stamp = out / ".complete"
    if stamp.is_file() and stamp.read_text() == key:
        print(f"{out}: complete")
        return 0
    wheels = out / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for core in cores():
            # one resolution per core: two ansible-core pins cannot be resolved together
            download(wheels, core)
            wheel = next(wheels.glob(f"ansible_core-{core.split('==')[1]}-*.whl"))
            files, bootstrap = ansible_test_needs(wheel, Path(tmp) / core)
            download(wheels, f"pip=={bootstrap}")
            for req in files:
                download(wheels, "-r", str(req))
        download(wheels, f"pip=={pip}", "setuptools")
        # the app's dependencies per target, as the app role's build asks for them
        build = [sys.executable, str(ROOT / "roles/app/files/build_artifact.py")]
        build += ["--source", str(ROOT / "app"), "--cache", str(Path(tmp) / "artifacts")]
        for target in TARGETS:
            build += ["--target", target]
        subprocess.run(build, check=True, stdout=subprocess.DEVNULL)  # noqa: S603
        for whl in (Path(tmp) / "artifacts").glob("*/cp*/*.whl"):
            if not whl.name.startswith("hostwatch-"):
                shutil.copy2(whl, wheels)
    collections(out / "collections")
    shutil.copy2(next(wheels.glob(f"pip-{pip}-*.whl")), out / "pip.whl")
    (out / "pip.txt").write_text(f"pip=={pip}\n")
    stamp.write_text(key)
    count = len(list(wheels.glob("*.whl")))
    print(f"{out}: {count} wheels for CPython {CONTROLLER} and the lab targets; collections copied")
    return 0


if __name__ == "__main__":
    sys.exit(main())
