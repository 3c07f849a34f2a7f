"""`onewindow`, the one command line: every role listed, usage errors exit 2, and a role loads only its own
package (the kiosk never the server, the headless roles never Qt)."""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from onewindow.cli import COMMANDS
from tests.support.hall import ONEWINDOW, ROOT

ROLES = ("server", "kiosk", "panel", "display", "devices", "device", "check-config", "passwd", "report", "demo")
GUI_ROLES = {"kiosk", "panel", "display"}


def onewindow(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ONEWINDOW, *args], capture_output=True, text=True, cwd=ROOT, timeout=60)


def test_help_lists_every_role_on_one_line_each() -> None:
    out = onewindow("--help")
    assert out.returncode == 0, out.stderr
    listed = {m.group(1): m.group(2) for m in re.finditer(r"^  (\S+) +(\S.*)$", out.stdout, re.M)}
    for role in ROLES:
        assert role in listed, (role, out.stdout)
    assert set(listed) >= {c.name for c in COMMANDS}
    assert all(listed[c.name] == c.help for c in COMMANDS)


@pytest.mark.parametrize(("args", "says"), [((), "required: COMMAND"), (("kisok",), "invalid choice: 'kisok'")])
def test_no_command_or_an_unknown_one_exits_2_with_the_usage(args: tuple[str, ...], says: str) -> None:
    out = onewindow(*args)
    assert out.returncode == 2
    assert "usage: onewindow COMMAND" in out.stderr and says in out.stderr


# Runs `onewindow ROLE --help` in a fresh interpreter where the packages the role must not load cannot be imported,
# and reports the exit code and which of them got loaded anyway.
PROBE = """
import json, sys
blocked = set(sys.argv[2].split(","))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in blocked:
            raise ImportError(f"{name} must not be imported here")
sys.meta_path.insert(0, Block())
from onewindow.cli import main
try:
    code = main([sys.argv[1], "--help"])
except SystemExit as exc:
    code = exc.code
print(json.dumps({"code": code, "loaded": sorted({m.split(".")[0] for m in sys.modules} & blocked)}))
"""


@pytest.mark.parametrize("role", ROLES)
def test_a_role_loads_only_what_it_needs(role: str) -> None:
    # The Qt apps must not pull in the server; the headless roles must run where Qt is not installed.
    blocked = "hall_server" if role in GUI_ROLES else "PySide6"
    out = subprocess.run([sys.executable, "-c", PROBE, role, blocked], capture_output=True, text=True, cwd=ROOT,
                         timeout=60)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": []}, (role, out.stdout, out.stderr)
    assert f"usage: onewindow {role}" in out.stdout
