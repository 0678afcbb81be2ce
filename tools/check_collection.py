"""Check the built collection tarball: it ships what a user runs and nothing else, and it states
what it needs.

    python tools/check_collection.py hostwatch-stack-X.Y.Z.tar.gz

Run from the checkout (the tarball is compared with its roles and requirements.yml) in the
project's venv, whose ansible-core and collections are the ones `make test` runs. Prints one line
per problem and exits 1 if there is any.
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tarfile
from pathlib import Path

import ansible.release
import ansible_collections
import yaml

# Every shipped file matches one of these; anything else is a dev or lab file build_ignore let in.
SHIPPED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "site.yml",
    "meta/*",
    "roles/*",
    "plugins/*",
    "playbooks/*",
    "inventory/example/*",
    "app/pyproject.toml",
    "app/examples/*",
    "app/src/hostwatch/*",
    # Prometheus rules and their promtool tests, the Grafana dashboard
    "monitoring/rules/*.yml",
    "monitoring/tests/*.yml",
    "monitoring/dashboards/*.json",
    "docs/*",
    "changelogs/*",
    # only for a finding that cannot be fixed, each line with its reason
    "tests/sanity/ignore-*.txt",
]
# Named so that a failure says what leaked, even where SHIPPED would also catch it.
NEVER_SHIPPED = [
    "Makefile",
    "ansible.cfg",
    "requirements-dev.txt",
    "playbooks/lab.yml",
    "bench/*",
    "lab/*",
    "molecule/*",
    "app/tests/*",
    "tests/unit/*",
    "tests/matrix/*",
    "inventory/lab/*",
    "collections/*",
    "tools/*",
    ".*",
    "*/.*",
    "*__pycache__*",
    "*.pyc",
    "*.egg-info*",
    "*~",
    "*.swp",
]
# What the roles and playbooks read at run time, and what a user reads first.
NEEDED = [
    "README.md",
    "LICENSE",
    "CHANGELOG.md",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
    "site.yml",
    "playbooks/site.yml",
    "inventory/example/hosts.yml",
    "app/pyproject.toml",
    "app/src/hostwatch/__init__.py",
    "roles/app/files/build_artifact.py",
    "monitoring/rules/hostwatch.yml",
    "monitoring/tests/hostwatch.yml",
    "monitoring/dashboards/hostwatch.json",
]
# Referred to in shipped files without being dependencies.
BUILT_IN = {"ansible.builtin", "ansible.legacy", "hostwatch.stack"}


def read(tar: tarfile.TarFile, name: str) -> str:
    member = tar.extractfile(name)
    if member is None:
        raise ValueError(f"{name} is not a file in {tar.name}")
    return member.read().decode()


def installed_collections() -> set[str]:
    """namespace.name of every collection the venv's ansible bundle carries."""
    found = set()
    for root in ansible_collections.__path__:
        for manifest in Path(root).glob("*/*/MANIFEST.json"):
            found.add(f"{manifest.parent.parent.name}.{manifest.parent.name}")
    return found


def used_collections(tar: tarfile.TarFile, names: list[str], known: set[str]) -> dict[str, str]:
    """Collections a FQCN (module, role, lookup, filter) names in shipped YAML/Jinja -> a file."""
    fqcn = re.compile(r"\b([a-z][a-z0-9_]*\.[a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
    used: dict[str, str] = {}
    for name in names:
        if not name.endswith((".yml", ".yaml", ".j2")):
            continue
        for match in fqcn.finditer(read(tar, name)):
            if match.group(1) in known:
                used.setdefault(match.group(1), name)
    return used


def version_floor(spec: str) -> str:
    match = re.fullmatch(r">=\s*([0-9.]+)", spec.strip())
    return match.group(1) if match else f"not a plain floor: {spec!r}"


def problems(tarball: Path, checkout: Path) -> list[str]:
    found: list[str] = []
    with tarfile.open(tarball) as tar:
        names = sorted(m.name for m in tar.getmembers() if m.isfile())
        for name in names:
            leaked = [p for p in NEVER_SHIPPED if fnmatch.fnmatch(name, p)]
            if leaked:
                found.append(f"{name}: a dev/lab/cache file is shipped (matches {leaked[0]!r})")
            elif not any(fnmatch.fnmatch(name, p) for p in SHIPPED):
                found.append(
                    f"{name}: not a file users run; add it to build_ignore or to SHIPPED here"
                )
        roles = sorted(p.parent.parent.name for p in checkout.glob("roles/*/meta/main.yml"))
        needed = NEEDED + [f"roles/{role}/meta/main.yml" for role in roles]
        missing = [f"{name}: needed at run time, missing" for name in needed if name not in names]
        if missing:
            return found + missing

        manifest = json.loads(read(tar, "MANIFEST.json"))["collection_info"]
        declared: dict[str, str] = manifest["dependencies"]
        for coll, where in used_collections(tar, names, installed_collections()).items():
            if coll not in BUILT_IN and coll not in declared:
                found.append(f"{where}: uses {coll}, which galaxy.yml does not declare")
        requirements = yaml.safe_load((checkout / "requirements.yml").read_text())["collections"]
        listed = {c["name"]: c["version"] for c in requirements}
        if listed != declared:
            found.append(f"requirements.yml lists {listed}, galaxy.yml declares {declared}")
        if manifest["license"] != ["MIT"] or "MIT License" not in read(tar, "LICENSE"):
            found.append("LICENSE is not the MIT license galaxy.yml declares")

        # requires_ansible states what is tested: its floor is the ansible-core `make test` runs.
        tested = ansible.release.__version__
        floor = version_floor(yaml.safe_load(read(tar, "meta/runtime.yml"))["requires_ansible"])
        if floor != tested:
            found.append(
                f"meta/runtime.yml: requires_ansible floor {floor}, tested ansible-core {tested}"
            )
        # It and the newer cores (make sanity-matrix, molecule matrix) are named where users
        # read which versions are tested: runtime.yml's comment and the README's Requirements.
        cores = (checkout / "tests" / "matrix" / "ansible-core.txt").read_text().splitlines()
        matrix = [c.split("==")[1] for c in cores if c.startswith("ansible-core==")]
        for version in [tested, *matrix]:
            for doc in ("meta/runtime.yml", "README.md"):
                if version not in read(tar, doc):
                    found.append(f"{doc}: does not name the tested ansible-core {version}")
        for role in roles:
            meta = yaml.safe_load(read(tar, f"roles/{role}/meta/main.yml"))
            if str(meta["galaxy_info"]["min_ansible_version"]) != tested:
                found.append(f"roles/{role}/meta/main.yml: min_ansible_version is not {tested}")
    return found


def main() -> int:
    tarball = Path(sys.argv[1])
    found = problems(tarball, Path.cwd())
    for line in found:
        print(line)
    if found:
        return 1
    with tarfile.open(tarball) as tar:
        count = sum(1 for m in tar.getmembers() if m.isfile())
    print(
        f"{tarball.name}: {count} files, each shipped on purpose; dependencies, license and"
        " requires_ansible agree with what is used and tested"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
