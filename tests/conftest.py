"""Suite-wide rules: Qt offscreen; garbage collected on the main (Qt GUI) thread only; under CI=true a skipped
test fails the run; every test gets one tier marker (unit, device, gui, e2e), and a unit test that opens a network
socket or a pseudo-terminal or imports PySide6 fails."""
from __future__ import annotations

import ast
import builtins
import gc
import importlib
import os
import pty
import socket
import sys
import threading
import types
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

TESTS = Path(__file__).resolve().parent
TIERS = ("unit", "device", "gui", "e2e")
_FAILED = pytest.StashKey[bool]()
QT_PACKAGES = ("PySide6", "shiboken6", "pytestqt")


def pytest_configure(config: pytest.Config) -> None:
    # The Qt apps collect cyclic garbage on their GUI thread only (hall_bus.gui_thread); so does the suite. With
    # automatic collection a paho or reader thread of one test could free the previous test's widgets, timers
    # and socket notifiers, and Qt's dispatcher on the main thread would touch freed memory (a CI segfault).
    gc.disable()


def pytest_collection_finish(session: pytest.Session) -> None:
    # What collection made (modules, Qt and the apps imported, the test items) lives to the end: kept out of the
    # collections after each test, which then look at what that test made only (a fraction of a millisecond
    # instead of a fifth of a second per test).
    gc.collect()
    gc.freeze()


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    gc.collect()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        item.stash[_FAILED] = True
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true (a skip is a failure in CI): {reason}"


# ---------------------------------------------------------------- tiers
# e2e:    under tests/e2e (real brokers, the server as a subprocess, real sockets)
# gui:    uses qtbot, or its module imports PySide6 or a module that does (the Qt apps)
# device: its module drives devices over pseudo-terminals: sim:// URLs, pty / tty / os.openpty, pyserial
# unit:   the rest; the guard below makes sure it stays without sockets, pseudo-terminals and Qt
# A tier marker written on a test or module outside tests/e2e wins over the guess.

def _is_qt_name(name: str) -> bool:
    return name.split(".", 1)[0] in QT_PACKAGES


def _module_deps(mod: types.ModuleType) -> set[str]:
    """What a loaded module imported at its top: modules bound to names and the modules of classes and functions
    bound to names. A package's own submodules do not count (importing a.b binds b on a)."""
    deps: set[str] = set()
    own = mod.__name__ + "."
    for value in list(vars(mod).values()):
        if isinstance(value, types.ModuleType):
            name = value.__name__
        elif isinstance(value, (type, types.FunctionType, types.BuiltinFunctionType)):
            name = getattr(value, "__module__", None)
        else:
            continue
        if isinstance(name, str) and name != mod.__name__ and not name.startswith(own):
            deps.add(name)
    return deps


class QtReach:
    """Which loaded modules import Qt, directly or through other modules."""

    def __init__(self) -> None:
        self.known: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        if _is_qt_name(name):
            return True
        if name in self.known:
            return self.known[name]
        self.known[name] = False            # a cycle counts as no Qt until one member finds it
        mod = sys.modules.get(name)
        found = mod is not None and any(self(dep) for dep in _module_deps(mod))
        self.known[name] = found
        return found


class ModuleFacts:
    """What a test module's (or conftest's) source imports, and which of its top-level definitions use a device:
    a sim:// URL or os.openpty, themselves or through another definition of the module they name."""

    def __init__(self, path: Path, module_name: str) -> None:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        self.imports: set[str] = set()
        package = module_name.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.imports.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
                self.imports.add(base)
                self.imports.update(f"{base}.{a.name}" for a in node.names)
        # a module importing the terminal modules or pyserial drives devices in all its tests
        self.all_device = bool({"pty", "tty", "termios", "serial"} & {n.split(".", 1)[0] for n in self.imports})
        self.defs: dict[str, ast.AST] = {}
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.defs[node.name] = node
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
                    if isinstance(target, ast.Name):
                        self.defs[target.id] = node
        self._device: dict[str, bool] = {}

    def uses_device(self, name: str) -> bool:
        if self.all_device:
            return True
        if name in self._device:
            return self._device[name]
        self._device[name] = False          # recursion guard
        node = self.defs.get(name)
        found = False
        if node is not None:
            for sub in ast.walk(node):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "sim://" in sub.value:
                    found = True
                elif isinstance(sub, ast.Attribute) and sub.attr in ("openpty", "forkpty"):
                    found = True
                elif isinstance(sub, ast.Name) and sub.id != name and sub.id in self.defs and self.uses_device(sub.id):
                    found = True
                if found:
                    break
        self._device[name] = found
        return found

    def imports_qt(self, reach: QtReach) -> bool:
        for name in self.imports:
            if _is_qt_name(name):
                return True
            if name not in sys.modules and name.split(".", 1)[0] in _PROJECT_PACKAGES:
                try:        # imported inside a function only: load it now to see what it pulls in
                    importlib.import_module(name)
                except ImportError:
                    continue
            if name in sys.modules and reach(name):
                return True
        return False


_PROJECT_PACKAGES = {"onewindow", "hall_bus", "hall_server", "devices", "kiosk", "window_panel", "display_board",
                     "tests"}


class Facts:
    """ModuleFacts per file, read once."""

    def __init__(self) -> None:
        self.files: dict[Path, ModuleFacts | None] = {}

    def of(self, path: Path, module_name: str | None) -> ModuleFacts | None:
        if path not in self.files:
            self.files[path] = ModuleFacts(path, module_name) if module_name and path.suffix == ".py" else None
        return self.files[path]


def _uses_device(item: pytest.Item, facts: Facts, own: ModuleFacts) -> bool:
    """The test, or a fixture it uses (from its module or a conftest under tests/), uses a device."""
    if own.uses_device(getattr(item, "originalname", item.name)) or (item.cls and own.uses_device(item.cls.__name__)):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for name in getattr(item, "fixturenames", ()):
        defs = info.name2fixturedefs.get(name) if info else None
        func = getattr(defs[-1], "func", None) if defs else None
        module = sys.modules.get(getattr(func, "__module__", "") or "")
        path = Path(module.__file__).resolve() if module and getattr(module, "__file__", None) else None
        if path is None or TESTS not in path.parents or path == Path(__file__).resolve():
            continue
        where = facts.of(path, module.__name__)
        if where is not None and where.uses_device(func.__name__):
            return True
    return False


def _tier(item: pytest.Item, facts: Facts, reach: QtReach) -> str:
    if "qtbot" in getattr(item, "fixturenames", ()):
        return "gui"
    module = getattr(item, "module", None)
    own = facts.of(Path(str(item.path)).resolve(), module.__name__ if module else None)
    if own is None:
        return "unit"
    if own.imports_qt(reach):
        return "gui"
    if _uses_device(item, facts, own):
        return "device"
    return "unit"


@pytest.hookimpl(tryfirst=True)      # before -m selects by these markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reach = QtReach()
    facts = Facts()
    for item in items:
        path = Path(str(item.path)).resolve()
        if TESTS / "e2e" in path.parents:
            tier = "e2e"
        else:
            explicit = [t for t in TIERS if item.get_closest_marker(t)]
            if explicit:
                continue
            tier = _tier(item, facts, reach)
        if not item.get_closest_marker(tier):
            item.add_marker(tier)


# ---------------------------------------------------------------- the unit tier stays without I/O

class UnitTierError(AssertionError):
    pass


@pytest.fixture(autouse=True)
def _unit_tier_has_no_io(request: pytest.FixtureRequest):
    """In a unit test (and its fixtures): a network socket, a DNS lookup, a pseudo-terminal or importing Qt
    fails the test, even when the code under test catches the error (the failure is raised again after it)."""
    if request.node.get_closest_marker("unit") is None:
        yield
        return
    caught: list[str] = []
    # threads left running by earlier tests (a paho loop still reconnecting) are not this test's doing
    earlier = {t.ident for t in threading.enumerate()} - {threading.main_thread().ident}

    def theirs() -> bool:
        return threading.get_ident() in earlier

    def refuse(what: str) -> UnitTierError:
        msg = (f"unit test used {what}: a unit test has no sockets, pseudo-terminals or Qt; mark it device, gui "
               "or move it to tests/e2e (see README: Tests)")
        caught.append(msg)
        return UnitTierError(msg)

    real_init = socket.socket.__init__

    def socket_init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        # socketpair() wake-ups inside the process (hall_bus.gui_thread, asyncio) are not network I/O
        if self.family != socket.AF_UNIX and not theirs():
            family = self.family
            self.close()
            raise refuse(f"a network socket ({family.name})")

    def guard(real, what):
        def guarded(*args, **kwargs):
            if theirs():
                return real(*args, **kwargs)
            raise refuse(what(args))
        return guarded

    real_import = builtins.__import__
    real_import_module = importlib.import_module

    def guarded_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and _is_qt_name(name) and not theirs():
            raise refuse(f"import {name}")
        return real_import(name, globals, locals, fromlist, level)

    def guarded_import_module(name, package=None):
        if _is_qt_name(name) and not theirs():
            raise refuse(f"import {name}")
        return real_import_module(name, package)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "__init__", socket_init)
        for fn in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
            mp.setattr(socket, fn, guard(getattr(socket, fn), lambda a: f"a network address lookup {a[:1]}"))
        for module, fn in ((os, "openpty"), (os, "forkpty"), (pty, "openpty"), (pty, "fork")):
            mp.setattr(module, fn, guard(getattr(module, fn), lambda a: "a pseudo-terminal"))
        mp.setattr(builtins, "__import__", guarded_import)
        mp.setattr(importlib, "import_module", guarded_import_module)
        yield
    if caught and not request.node.stash.get(_FAILED, False):     # the code under test swallowed the error
        pytest.fail(caught[0], pytrace=False)
