#!/bin/sh
# Create tools/.venv for the libnuwa reference tools (convert.py, make_fixtures.py,
# bench/ref_vqgan.py, make_nuwa_fixtures.py, bench/ref_nuwa.py, make_tokenizer_fixture.py).
#
# The venv uses the system python with --system-site-packages so that Debian's
# python3-torch (1.13.1) and python3-numpy are used; the pure-Python packages
# pinned in tools/requirements.txt are installed with --no-deps (their declared
# torch>=2.4 / torchvision / einx requirements are handled by tools/nuwa_ref.py).
#
# Usage: sh tools/setup_env.sh        (from anywhere)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
py=${PYTHON:-/usr/bin/python3}

if [ ! -x "$py" ]; then
    echo "setup_env.sh: $py not found (set PYTHON=/path/to/python3)" >&2
    exit 1
fi

if ! "$py" -c 'import torch, numpy' >/dev/null 2>&1; then
    echo "setup_env.sh: $py cannot import torch/numpy; install Debian's packages:" >&2
    echo "apt-get install python3-torch python3-numpy" >&2
    exit 1
fi
if ! "$py" -c 'import yaml' >/dev/null 2>&1; then
    echo "setup_env.sh: $py cannot import yaml (needed by gguf); install it:" >&2
    echo "apt-get install python3-yaml" >&2
    exit 1
fi
if ! "$py" -c 'import regex' >/dev/null 2>&1; then
    echo "setup_env.sh: $py cannot import regex (needed by the reference text tokenizer); install it:" >&2
    echo "apt-get install python3-regex" >&2
    exit 1
fi
if ! "$py" -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "setup_env.sh: $py has no venv/ensurepip; install it:" >&2
    echo "apt-get install python3-venv" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    "$py" -m venv --system-site-packages "$venv"
fi
"$venv/bin/python" -m pip install --disable-pip-version-check --no-deps -r "$here/requirements.txt"
"$venv/bin/python" -c 'import sys; sys.path.insert(0, sys.argv[1]); import nuwa_ref, torch; nuwa_ref.nuwa_module(); print("tools/.venv ready: torch", torch.__version__)' "$here"
