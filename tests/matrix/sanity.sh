#!/usr/bin/env bash
# ansible-test sanity of the collection tarball on each ansible-core of tests/matrix/ansible-core.txt, from a
# Python 3.13 controller: one Debian 13 lab container, offline (make matrix-wheels filled its find-links).
# Usage: sanity.sh TARBALL MATRIX_DIR   (MATRIX_DIR: what tools/matrix_wheels.py made)
set -euo pipefail
tarball=$(realpath "$1")
matrix=$(realpath "$2")
here=$(dirname "$(realpath "$0")")
name=hostwatch-matrix-sanity
docker rm -f "$name" >/dev/null 2>&1 || true
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
# No systemd needed: a plain container of the lab image, its python3 (3.13) only.
docker run --rm --name "$name" --network none \
  -v "$matrix:/matrix:ro" -v "$tarball:/collection/$(basename "$tarball"):ro" \
  -v "$here/ansible-core.txt:/cores.txt:ro" -v "$here/../../tools/ansible_test_get_pip.py:/get_pip.py:ro" \
  local/hostwatch-lab:trixie bash -euo pipefail -c '
    # pip, ansible-test'\''s pip included, resolves from the downloaded wheels only
    printf "[global]\nno-index = true\nfind-links = /matrix/wheels\ndisable-pip-version-check = true\n" \
      >/etc/pip.conf
    python3 -V
    for core in $(grep -v "^#" /cores.txt); do
      version=${core#ansible-core==}; minor=${version%.*}; start=$(date +%s)
      venv=/opt/ansible-$minor
      python3 -m venv --without-pip "$venv"
      "$venv/bin/python" /matrix/pip.whl/pip install -q --ignore-installed -r /matrix/pip.txt "$core"
      # the get-pip.py ansible-test would download: our stand-in, with the pip it asks for beside it
      home=/root/home-$minor cache=/root/home-$minor/.ansible/test/cache
      bootstrap=$(sed -n "s/.*pip=.\([0-9.]*\).,.*/\1/p" \
        "$venv"/lib/python3.13/site-packages/ansible_test/_internal/python_requirements.py | head -1)
      mkdir -p "$cache" && cp /get_pip.py "$cache/get_pip_${bootstrap//./_}.py"
      cp /matrix/wheels/pip-"$bootstrap"-py3-none-any.whl "$cache/"
      # sanity reads the collection alone: its dependencies are not installed (--no-deps)
      tmp=/root/sanity-$minor
      ANSIBLE_COLLECTIONS_PATH=$tmp "$venv/bin/ansible-galaxy" collection install --offline --no-deps \
        -p "$tmp" /collection/*.tar.gz >/dev/null
      cd "$tmp/ansible_collections/hostwatch/stack"
      HOME=$home "$venv/bin/ansible-test" sanity --python 3.13 --color no
      echo "sanity-matrix: ansible-core $version on Python 3.13: passed in $(( $(date +%s) - start )) s"
      cd /
    done'
