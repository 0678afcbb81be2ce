"""Download binary wheels of a requirement for a target host's Python, the way the app role builds
its wheelhouse (targets cannot reach PyPI): `python bench/wheelhouse.py TARGET DEST REQUIREMENT...`.

TARGET is `<python X.Y>:<arch>:<glibc 2.Y>` as the app role reads it on a host. DEST is reused when
it holds a `.complete` marker.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "roles" / "app" / "files"))
from build_artifact import TARGET, platforms


def main() -> int:
    target, dest, *requirements = sys.argv[1:]
    match = TARGET.fullmatch(target)
    if not match or not requirements:
        sys.exit(__doc__)
    major, minor, arch, glibc_minor = match.groups()
    out = Path(dest)
    if (out / ".complete").exists():
        return 0
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
    cmd += ["--python-version", f"{major}.{minor}", "--implementation", "cp"]
    cmd += ["--abi", f"cp{major}{minor}", "--dest", str(out)]
    for tag in platforms(arch, int(glibc_minor)):
        cmd += ["--platform", tag]
    subprocess.run([*cmd, *requirements], check=True)
    (out / ".complete").touch()
    return 0


if __name__ == "__main__":
    sys.exit(main())
