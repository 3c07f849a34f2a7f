"""Device simulators served over pseudo-terminals, picked by `sim://KIND` URLs (see devices.transport).

Importing this package registers the bundled simulators; `load_all()` also imports the simulator modules of
the other device packages (`devices/<kind>/simulator.py`, `sim.py` or `simulators.py`, and any module in this
package), each of which calls `devices.transport.register_simulator`. A module that is missing is skipped; one
that fails to import is remembered and named in the error for an unknown sim:// kind.
"""
from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import threading

log = logging.getLogger(__name__)

_BUNDLED_KINDS = {"printer": "devices.simulators.printer", "idcard": "devices.simulators.idcard"}
_BUNDLED = tuple(_BUNDLED_KINDS.values())
_CANDIDATE_NAMES = ("simulator", "simulators", "sim")
_loaded = False
_lock = threading.Lock()
_problems: dict[str, str] = {}


def _try_import(name: str) -> None:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (name == exc.name or name.startswith(exc.name + ".")):
            return  # the module (or its package) does not exist: nothing to register
        _problems[name] = f"{type(exc).__name__}: {exc}"
        log.warning("simulator module %s failed to import: %s", name, exc)
    except Exception as exc:  # another helper's simulator must not break sim://printer
        _problems[name] = f"{type(exc).__name__}: {exc}"
        log.warning("simulator module %s failed to import: %s", name, exc)


def load_kind(kind: str) -> None:
    """Import just the bundled simulator for `kind` (cheap path); unknown kinds need load_all()."""
    module = _BUNDLED_KINDS.get(kind)
    if module is not None:
        with _lock:
            _try_import(module)


def load_all() -> None:
    """Import every simulator module once (idempotent, thread-safe)."""
    global _loaded
    with _lock:
        if _loaded:
            return
        _loaded = True
        for name in _BUNDLED:
            _try_import(name)
        for info in pkgutil.iter_modules(__path__, prefix=__name__ + "."):
            if info.name not in _BUNDLED and not info.name.endswith(".base"):
                _try_import(info.name)
        import devices

        for info in pkgutil.iter_modules(devices.__path__, prefix="devices."):
            if not info.ispkg or info.name == __name__:
                continue
            for leaf in _CANDIDATE_NAMES:
                name = f"{info.name}.{leaf}"
                try:
                    found = importlib.util.find_spec(name) is not None
                except Exception as exc:  # the parent package itself failed to import
                    _problems[info.name] = f"{type(exc).__name__}: {exc}"
                    break
                if found:
                    _try_import(name)


def load_problems() -> dict[str, str]:
    return dict(_problems)
