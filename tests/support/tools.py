"""The system tools tests need (mosquitto, espeak-ng, aplay, openssl ...): a missing one fails the test, never skips
it, and says which Debian package of system-packages.txt brings it and that ./run installs it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE_LIST = ROOT / "system-packages.txt"


def listed_packages() -> list[str]:
    """The package names of system-packages.txt (the word before any comment, one a line)."""
    names = []
    for line in PACKAGE_LIST.read_text(encoding="utf-8").splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            names.append(words[0])
    return names


def require_tool(tool: str, *, package: str) -> str:
    """The path of `tool` (on PATH, else in /usr/sbin, where mosquitto is and a user's PATH may not reach); fails
    the test (or the fixture) when it is missing."""
    if package not in listed_packages():
        pytest.fail(f"{tool}: its Debian package {package} is not in system-packages.txt; add it there so that "
                    "./run installs it", pytrace=False)
    exe = shutil.which(tool) or (f"/usr/sbin/{tool}" if Path(f"/usr/sbin/{tool}").is_file() else None)
    if exe is None:
        pytest.fail(f"{tool} is not installed: Debian package {package}. ./run installs the missing packages of "
                    f"system-packages.txt before the tests (or by hand: sudo apt-get install {package})",
                    pytrace=False)
    return exe
