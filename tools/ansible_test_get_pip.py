"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test runs each sanity test in a virtualenv of its own, created without pip, and
bootstraps pip there with a get-pip.py fetched from a host this network does not reach. Its
maintainers' work-around is to place that script in ~/.ansible/test/cache/ beforehand
(ansible/ansible#77304): `make sanity` places this one there, under a HOME of its own. It does
the same job from what the interpreter has: ensurepip's bundled pip, then the pip version
ansible-test asks for, from the package index. ansible-test then installs each test's tools
from its own pinned requirement files.

Where the interpreter has no ensurepip (Debian's python3 without python3-venv, as in the lab
containers of `make sanity-matrix`), pip runs from a pip wheel placed beside this script, and
pip's own configuration (an offline find-links directory there) supplies the rest.
"""

import subprocess
import sys
from pathlib import Path

# get-pip.py's own switches: ansible-test passes them, pip does not know them.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
try:
    import ensurepip  # noqa: F401 (only whether it is there)
except ImportError:
    wheel = sorted(Path(__file__).parent.glob("pip-*.whl"))[-1]
    pip = [sys.executable, str(wheel / "pip")]
else:
    bootstrap = [sys.executable, "-m", "ensurepip", "--default-pip"]
    subprocess.run(bootstrap, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 (fixed command)
    pip = [sys.executable, "-m", "pip"]
subprocess.run([*pip, "install", "--quiet", *args], check=True)  # noqa: S603 (ansible-test's requirements)
