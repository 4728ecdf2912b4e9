"""Offline stand-in for ansible-test's pip bootstrap script (get-pip).

ansible-test sanity creates a virtual environment per test and bootstraps pip in it
by downloading get-pip from a host that factory networks and this project's CI
cannot reach. `make sanity` saves this file where ansible-test looks for a cached
copy (~/.ansible/test/cache/get_pip_<version>.py). It installs pip from the
interpreter's own ensurepip, then installs the requested packages from the
configured package index.
"""

import subprocess
import sys

# get-pip options that plain `pip install` does not know.
GET_PIP_ONLY_OPTIONS = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
    arguments = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    return subprocess.call([sys.executable, "-m", "pip", "install", *arguments])


if __name__ == "__main__":
    sys.exit(main())
