"""House rules of STYLE.md, checked: Qt only in the three GUI packages, topic strings only in hall_bus, and the
headless packages import with no Qt installed."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUI = {"kiosk", "window_panel", "display_board"}
SOURCE = ["onewindow", "kiosk", "window_panel", "display_board", "hall_server", "hall_bus", "devices", "bench"]


def sources() -> list[Path]:
    return [p for d in SOURCE for p in (ROOT / d).rglob("*.py")]


def test_pyside6_only_in_gui_packages() -> None:
    bad = [str(p.relative_to(ROOT)) for p in sources()
           if p.relative_to(ROOT).parts[0] not in GUI
           and re.search(r"^\s*(from|import)\s+PySide6", p.read_text(encoding="utf-8"), re.M)]
    assert not bad, f"PySide6 imported outside the GUI packages: {bad}"


def test_topic_strings_only_in_hall_bus() -> None:
    bad = [str(p.relative_to(ROOT)) for p in sources()
           if p.relative_to(ROOT).parts[0] != "hall_bus"
           and re.search(r"""["']onewindow/""", p.read_text(encoding="utf-8"))]
    assert not bad, f"topic strings formatted outside hall_bus: {bad}"


def test_headless_packages_run_without_qt() -> None:
    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'PySide6': raise ImportError('no Qt here')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import hall_bus, hall_server.engine, hall_server.service, hall_server.main\n"
            "import onewindow.cli, onewindow.demo, onewindow.check_config\n"
            "import devices.transport, devices.printer, devices.idcard, devices.cli\n"
            "print('ok')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_operation_names_are_spelled_only_by_the_op_enum() -> None:
    """Clients name operations with hall_bus.contract.Op, so a renamed or misspelt op fails at import, not on the
    wire."""
    from hall_bus.contract import Op
    spelled = re.compile("|".join(rf"""["']{re.escape(op.value)}["']""" for op in Op))
    bad = [str(p.relative_to(ROOT)) for p in sources()
           if p.relative_to(ROOT).parts[0] != "hall_bus" and spelled.search(p.read_text(encoding="utf-8"))]
    assert not bad, f"operation names written as strings (use hall_bus.contract.Op): {bad}"
