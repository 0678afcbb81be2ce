"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test runs each sanity test in a virtualenv of its own, created without pip, and
bootstraps pip there with a get-pip.py fetched from a host this network does not reach. Its
maintainers' work-around is to place that script in ~/.ansible/test/cache/ beforehand
(ansible/ansible#77304): `make sanity` places this one there, under a HOME of its own. It does
the same job from what the interpreter has: ensurepip's bundled pip, then the pip version
ansible-test asks for, from the package index. ansible-test then installs each test's tools
from its own pinned requirement files.
"""

import subprocess
import sys

# get-pip.py's own switches: ansible-test passes them, pip does not know them.
GET_PIP_ONLY = {"--no-setuptools", "--no-wheel"}

args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY]
ensurepip = [sys.executable, "-m", "ensurepip", "--default-pip"]
subprocess.run(ensurepip, check=True, stdout=subprocess.DEVNULL)  # noqa: S603 (fixed command)
pip = [sys.executable, "-m", "pip", "install", "--quiet", *args]
subprocess.run(pip, check=True)  # noqa: S603 (the requirements ansible-test passes)
