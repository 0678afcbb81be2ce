"""Check the execution environment an operator builds for AWX / AAP, without building it.

    python tools/check_ee.py hostwatch-stack-X.Y.Z.tar.gz

`ansible-builder create` on docs/ee/execution-environment.yml, with the tarball beside it as the
operator puts it, then the context it wrote: the build file installs the ansible-core and
ansible-runner `make test` runs (requirements-dev.txt), the tarball is in the context under the
name the definition's requirements.yml gives it, and what the image build's own introspection
(the context's introspect.py, on the collection installed from that requirements.yml as the
build's galaxy stage does) finds is the collection's meta/execution-environment.yml: its Python
and system requirements. Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import ansible.release
import yaml
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
DEFINITION = ROOT / "docs" / "ee"


def run(argv: list[str], cwd: Path) -> str:
    # Not the checkout's ansible.cfg and collections path: hostwatch.stack is "installed" there (the
    # working tree), and ansible-galaxy would install nothing.
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("ANSIBLE_CONFIG", "ANSIBLE_COLLECTIONS_PATH")
    }
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def requirement_lines(path: Path) -> list[str]:
    """A pip or bindep file's requirements, comments and blank lines left out."""
    lines = (re.sub(r"(^|\s+)#.*$", "", line).strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def check(tarball: Path, work: Path) -> list[str]:
    found: list[str] = []
    shutil.copytree(DEFINITION, work / "ee")
    shutil.copy2(tarball, work / "ee")
    run(
        [
            *("ansible-builder", "create", "-f", "execution-environment.yml"),
            *("-c", "context", "--output-filename", "Containerfile"),
        ],
        cwd=work / "ee",
    )
    context = work / "ee" / "context"
    build_file = (context / "Containerfile").read_text()

    refs = re.search(r'^ARG ANSIBLE_INSTALL_REFS="(.*)"$', build_file, re.M)
    wanted = [
        f"ansible-core=={ansible.release.__version__}",
        f"ansible-runner=={version('ansible-runner')}",
    ]
    if not refs or sorted(refs.group(1).split()) != wanted:
        found.append(f"Containerfile installs {refs and refs.group(1)!r}, not {' '.join(wanted)}")

    galaxy = yaml.safe_load((ROOT / "galaxy.yml").read_text())
    name = f"hostwatch-stack-{galaxy['version']}.tar.gz"
    if not (context / "_build" / "collections" / name).is_file():
        found.append(f"the context has no _build/collections/{name}")
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    named = [entry["name"] for entry in requirements["collections"]]
    if f"collections/{name}" not in named:
        found.append(f"docs/ee/requirements.yml names {named}, not collections/{name}")
        return found

    # The image build's galaxy stage, then its builder stage's introspection, on this machine.
    collections = work / "installed"
    run(
        [
            *("ansible-galaxy", "collection", "install", "--offline", "--no-deps"),
            *("-r", "requirements.yml", "-p", str(collections)),
        ],
        cwd=context / "_build",
    )
    if not (collections / "ansible_collections" / "hostwatch" / "stack" / "MANIFEST.json").exists():
        return [*found, "ansible-galaxy did not install the tarball from requirements.yml"]
    pip, bindep = work / "requirements.txt", work / "bindep.txt"
    run(
        [
            *(sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect"),
            *(f"--write-pip={pip}", f"--write-bindep={bindep}", str(collections)),
        ],
        cwd=work,
    )
    for kind, made, source in (
        ("Python", pip, ROOT / "meta" / "ee-requirements.txt"),
        ("system", bindep, ROOT / "meta" / "ee-bindep.txt"),
    ):
        # introspection tags each line with its collection: "pip>=26.3  # from collection ..."
        got = requirement_lines(made) if made.exists() else []
        if sorted(got) != sorted(requirement_lines(source)):
            found.append(f"{kind} requirements introspected: {got}, not {source.name}'s")
    # The pip this venv builds artifacts with meets the floor the collection states.
    for line in requirement_lines(ROOT / "meta" / "ee-requirements.txt"):
        req = Requirement(line)
        if not req.specifier.contains(version(req.name)):
            found.append(f"meta/ee-requirements.txt: {line}, but this venv has {version(req.name)}")
    return found


def main() -> int:
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    with tempfile.TemporaryDirectory() as tmp:
        found = check(Path(sys.argv[1]).resolve(), Path(tmp))
    for problem in found:
        print(problem)
    if not found:
        print(
            "execution environment: the context holds the collection, its requirements and ansible"
        )
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
