"""Build (or find in the cache) the hostwatch artifact: the app wheel and a wheelhouse per target.

Run on the controller by the app role. A target is `<python X.Y>:<arch>:<glibc 2.Y>` as read on a
host; its wheelhouse holds binary wheels only, for that CPython and platform, so the host installs
with `pip --no-index` and never reaches PyPI.

Cache layout, keyed by the content hash of the app source (pyproject.toml + src/):

    <cache>/<hash12>/release_id          the release id first given to this source
    <cache>/<hash12>/app/                the app wheel
    <cache>/<hash12>/cp311-x86_64-glibc2.36/
                                         wheelhouse (app wheel + dependencies)

Each directory is built beside its place and renamed into it with a `.complete` marker inside, so a
half-built one is rebuilt, never trusted.

Prints one JSON object: release_id, content_hash, app_wheel (file name), wheelhouses (target ->
directory), built (true when anything was built in this run).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HASH_LEN = 12
RELEASE_ID = re.compile(r"\d{8}T\d{6}Z-([0-9a-f]{12})")
TARGET = re.compile(r"(\d+)\.(\d+):([A-Za-z0-9_]+):2\.(\d+)")
# Files that never belong to the source: build by-products and caches.
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".*_cache")


class BuildError(Exception):
    pass


def source_files(source: Path) -> list[Path]:
    files = [source / "pyproject.toml"]
    for path in sorted((source / "src").rglob("*")):
        rel = path.relative_to(source)
        if (
            path.is_file()
            and not any(
                part == "__pycache__" or part.endswith((".egg-info", "_cache"))
                for part in rel.parts
            )
            and path.suffix != ".pyc"
        ):
            files.append(path)
    return files


def content_hash(source: Path) -> str:
    digest = hashlib.sha256()
    for path in source_files(source):
        # name and content, each length-prefixed, so moving bytes between files changes the hash
        name = path.relative_to(source).as_posix().encode()
        data = path.read_bytes()
        digest.update(b"%d:%s%d:" % (len(name), name, len(data)))
        digest.update(data)
    return digest.hexdigest()


def run(cmd: list[str]) -> None:
    # argv built here from fixed words and paths; no shell
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-15:]
        raise BuildError(
            f"{' '.join(cmd[:4])} ... failed (rc={proc.returncode}):\n" + "\n".join(tail)
        )


def release_id_for(entry: Path, short: str, wanted: str) -> str:
    """The id recorded for this source, else the wanted one, else a new one from the UTC clock."""
    recorded = entry / "release_id"
    if wanted:
        match = RELEASE_ID.fullmatch(wanted)
        if not match:
            raise BuildError(
                f"hostwatch_app_release_id {wanted!r} is not <%Y%m%dT%H%M%SZ>-<12 hex>"
            )
        if match.group(1) != short:
            raise BuildError(
                f"hostwatch_app_release_id {wanted!r} names content hash {match.group(1)}, "
                f"but the source's content hash is {short}"
            )
        return wanted
    if recorded.is_file():
        return recorded.read_text().strip()
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + short


def build_wheel(source: Path, entry: Path) -> Path:
    """The app wheel, built once per source from a copy: setuptools writes build/ and egg-info
    into the tree it builds."""
    wheel_dir = entry / "app"
    if (wheel_dir / ".complete").exists():
        return next(wheel_dir.glob("*.whl"))
    with tempfile.TemporaryDirectory(dir=entry) as tmp:
        tree = Path(tmp) / "src-copy"
        tree.mkdir()
        shutil.copy2(source / "pyproject.toml", tree)
        shutil.copytree(source / "src", tree / "src", ignore=IGNORED)
        for extra in ("README.md", "README.rst", "LICENSE"):
            if (source / extra).is_file():
                shutil.copy2(source / extra, tree)
        out = Path(tmp) / "wheel"
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                str(tree),
                "-w",
                str(out),
            ]
        )
        (out / ".complete").touch()
        shutil.rmtree(wheel_dir, ignore_errors=True)
        os.rename(out, wheel_dir)
    return next(wheel_dir.glob("*.whl"))


def platforms(arch: str, glibc_minor: int) -> list[str]:
    # pip does not expand manylinux_2_X to older glibc versions: list every one the host can run.
    tags = [f"manylinux_2_{minor}_{arch}" for minor in range(glibc_minor, 4, -1)]
    return [*tags, f"manylinux2014_{arch}", f"manylinux2010_{arch}", f"manylinux1_{arch}"]


def build_wheelhouse(wheel: Path, entry: Path, target: str) -> tuple[Path, bool]:
    match = TARGET.fullmatch(target)
    if not match:
        raise BuildError(f"target {target!r} is not <python X.Y>:<arch>:<glibc 2.Y>")
    major, minor, arch, glibc_minor = match.groups()
    house = entry / f"cp{major}{minor}-{arch}-glibc2.{glibc_minor}"
    if (house / ".complete").exists():
        return house, False
    with tempfile.TemporaryDirectory(dir=entry) as tmp:
        out = Path(tmp) / "wheels"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--disable-pip-version-check",
            "--only-binary=:all:",
            "--python-version",
            f"{major}.{minor}",
            "--implementation",
            "cp",
            "--abi",
            f"cp{major}{minor}",
            "--dest",
            str(out),
        ]
        for tag in platforms(arch, int(glibc_minor)):
            cmd += ["--platform", tag]
        run([*cmd, str(wheel)])
        (out / ".complete").touch()
        shutil.rmtree(house, ignore_errors=True)
        os.rename(out, house)
    return house, True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source", required=True, type=Path, help="the app's directory (pyproject.toml)"
    )
    parser.add_argument("--cache", required=True, help="artifact cache directory (~ is expanded)")
    parser.add_argument(
        "--target", action="append", required=True, help="<python X.Y>:<arch>:<glibc 2.Y>"
    )
    parser.add_argument(
        "--release-id", default="", help="fix the release id (must carry this hash)"
    )
    args = parser.parse_args()
    try:
        source = args.source.resolve()
        if not (source / "pyproject.toml").is_file() or not (source / "src").is_dir():
            raise BuildError(f"{source} is not the app's source (no pyproject.toml and src/)")
        full = content_hash(source)
        entry = Path(os.path.expanduser(args.cache)) / full[:HASH_LEN]
        entry.mkdir(parents=True, exist_ok=True)
        release_id = release_id_for(entry, full[:HASH_LEN], args.release_id)
        if not (entry / "release_id").is_file():
            (entry / "release_id").write_text(release_id + "\n")
        built_wheel = not (entry / "app" / ".complete").exists()
        wheel = build_wheel(source, entry)
        houses, built = {}, built_wheel
        for target in sorted(set(args.target)):
            houses[target], built_now = build_wheelhouse(wheel, entry, target)
            built = built or built_now
    except (BuildError, OSError) as err:
        print(json.dumps({"failed": True, "msg": f"building the hostwatch artifact failed: {err}"}))
        return 1
    print(
        json.dumps(
            {
                "release_id": release_id,
                "content_hash": full,
                "app_wheel": wheel.name,
                "wheelhouses": {t: str(h) for t, h in houses.items()},
                "built": built,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
