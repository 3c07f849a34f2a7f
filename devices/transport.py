"""Byte transports chosen by URL: serial://, tcp://, file:// and sim:// (a simulator behind a pseudo-terminal).

Every transport offers the same narrow surface: `write(bytes)`, `read(n, timeout) -> bytes` (up to n bytes, as
soon as at least one arrived; b"" on timeout), `reopen()`, `close()`, `.url`, and `.simulator` (None unless the
URL is sim://). Drivers only ever see this surface, so no driver has an `if simulated:` branch.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlsplit

import serial

from devices.errors import DeviceError, TransportError

try:  # pyserial's POSIX backend lets termios.error (not an OSError) out of flush() when the device vanishes
    from termios import error as _TermiosError
except ImportError:  # Windows has no termios
    _TermiosError = OSError

log = logging.getLogger(__name__)

FLOW_CONTROL = ("none", "rtscts", "dsrdtr")
DEFAULT_BAUD = 9600
WRITE_TIMEOUT_S = 5.0  # a printer holding CTS low must not hang the kiosk forever


class Transport(Protocol):
    url: str
    simulator: Any
    can_read: bool  # False for write-only links (file://): drivers skip queries nobody can answer

    def write(self, data: bytes) -> None: ...
    def read(self, n: int, timeout: float) -> bytes: ...
    def reopen(self) -> None: ...
    def close(self) -> None: ...


def _query(url: str, allowed: set[str]) -> dict[str, str]:
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise DeviceError(url, f"unknown URL parameter(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return params


def _positive_number(url: str, name: str, value: str, kind: type = int) -> Any:
    try:
        number = kind(value)
    except ValueError:
        raise DeviceError(url, f"{name}={value!r} is not a number") from None
    if number <= 0:
        raise DeviceError(url, f"{name}={value!r} must be positive")
    return number


class SerialTransport:
    """A serial port (or a pseudo-terminal path) through pyserial's serial_for_url."""

    can_read = True

    def __init__(self, url: str, path: str, baud: int = DEFAULT_BAUD, flow: str = "none", simulator: Any = None) -> None:
        if flow not in FLOW_CONTROL:
            raise DeviceError(url, f"flow={flow!r} is not one of {', '.join(FLOW_CONTROL)}")
        self.url = url
        self.path = path
        self.baud = baud
        self.flow = flow
        self.simulator = simulator
        self._lock = threading.Lock()
        self._port: serial.Serial | None = None
        self._open()

    def _open(self) -> None:
        try:
            self._port = serial.serial_for_url(
                self.path, baudrate=self.baud, timeout=0, write_timeout=WRITE_TIMEOUT_S,
                rtscts=self.flow == "rtscts", dsrdtr=self.flow == "dsrdtr", exclusive=True)
        except (serial.SerialException, OSError, ValueError) as exc:
            self._port = None
            raise TransportError(self.url, f"cannot open {self.path}: {exc}") from exc

    def _require(self) -> serial.Serial:
        if self._port is None:
            raise TransportError(self.url, "port is closed")
        return self._port

    def write(self, data: bytes) -> None:
        port = self._require()
        try:
            port.write(data)
            port.flush()
        except serial.SerialTimeoutException as exc:
            raise TransportError(self.url, f"write timed out after {WRITE_TIMEOUT_S}s (flow control holding?)") from exc
        except (serial.SerialException, OSError, _TermiosError) as exc:
            raise TransportError(self.url, f"write failed: {exc}") from exc

    def read(self, n: int, timeout: float) -> bytes:
        port = self._require()
        try:
            port.timeout = max(0.0, timeout)
            first = port.read(1)
            if not first or n <= 1:
                return first
            port.timeout = 0
            waiting = port.in_waiting
            return first + (port.read(min(waiting, n - 1)) if waiting else b"")
        except (serial.SerialException, OSError, _TermiosError, TypeError) as exc:
            # pyserial raises TypeError from inside read() when the port is closed by another thread
            raise TransportError(self.url, f"read failed: {exc}") from exc

    def reopen(self) -> None:
        self._close_port()
        self._open()

    def _close_port(self) -> None:
        port, self._port = self._port, None
        if port is not None:
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass

    def close(self) -> None:
        self._close_port()

    def __repr__(self) -> str:
        return f"<SerialTransport {self.url} path={self.path} baud={self.baud}>"


class TcpTransport:
    """A raw TCP socket, e.g. an Ethernet printer on port 9100."""

    can_read = True

    def __init__(self, url: str, host: str, port: int, connect_timeout: float = 3.0) -> None:
        self.url = url
        self.host, self.port, self.connect_timeout = host, port, connect_timeout
        self.simulator = None
        self._sock: socket.socket | None = None
        self._open()

    def _open(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise TransportError(self.url, f"cannot connect to {self.host}:{self.port}: {exc}") from exc
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def _require(self) -> socket.socket:
        if self._sock is None:
            raise TransportError(self.url, "connection is closed")
        return self._sock

    def write(self, data: bytes) -> None:
        sock = self._require()
        try:
            sock.settimeout(WRITE_TIMEOUT_S)
            sock.sendall(data)
        except OSError as exc:
            raise TransportError(self.url, f"send failed: {exc}") from exc

    def read(self, n: int, timeout: float) -> bytes:
        sock = self._require()
        try:
            sock.settimeout(max(0.0, timeout))
            data = sock.recv(n)
        except (TimeoutError, BlockingIOError):
            return b""
        except OSError as exc:
            raise TransportError(self.url, f"receive failed: {exc}") from exc
        if not data:
            raise TransportError(self.url, "connection closed by the device")
        return data

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            sock.close()


class FileTransport:
    """Append-only file (or device node such as /dev/usb/lp0): writes go through, reads always give b""."""

    can_read = False

    def __init__(self, url: str, path: str) -> None:
        self.url = url
        self.path = path
        self.simulator = None
        self._file: Any = None
        self._open()

    def _open(self) -> None:
        try:
            self._file = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise TransportError(self.url, f"cannot open {self.path} for writing: {exc}") from exc

    def write(self, data: bytes) -> None:
        if self._file is None:
            raise TransportError(self.url, "file is closed")
        try:
            self._file.write(data)
        except OSError as exc:
            raise TransportError(self.url, f"write failed: {exc}") from exc

    def read(self, n: int, timeout: float) -> bytes:
        # Nothing can ever answer through a file; return at once instead of pretending to wait.
        return b""

    def reopen(self) -> None:
        self.close()
        self._open()

    def close(self) -> None:
        f, self._file = self._file, None
        if f is not None:
            f.close()


class SimTransport(SerialTransport):
    """A serial transport on the slave side of the pseudo-terminal a simulator serves.

    `close()` also stops the simulator; `reopen()` reattaches to the simulator's current pseudo-terminal
    (a new one after `simulator.replug()`), exactly like reopening /dev/ttyUSB0 after a USB replug.
    """

    def __init__(self, url: str, simulator: Any, baud: int) -> None:
        self._closed = False
        super().__init__(url, simulator.slave_path or "", baud=baud, simulator=simulator)

    def _open(self) -> None:
        path = self.simulator.slave_path
        if not path:
            raise TransportError(self.url, "simulated device is unplugged")
        self.path = path
        super()._open()

    def close(self) -> None:
        self._close_port()
        if not self._closed:
            self._closed = True
            self.simulator.stop()


# --- simulator registry ------------------------------------------------------------------------------------

SimulatorFactory = Callable[[dict[str, str]], Any]
_SIMULATORS: dict[str, SimulatorFactory] = {}
_registry_lock = threading.Lock()


def register_simulator(kind: str, factory: SimulatorFactory) -> None:
    """Make `sim://KIND?params` available. `factory(params)` returns a started-on-demand simulator object with
    `start()`, `stop()` and `slave_path` (see devices.simulators.base.SimulatedDevice)."""
    with _registry_lock:
        _SIMULATORS[kind] = factory


def simulator_kinds() -> list[str]:
    _load_simulators()
    return sorted(_SIMULATORS)


def _load_simulators() -> None:
    import devices.simulators

    devices.simulators.load_all()


def _open_sim(url: str, kind: str) -> SimTransport:
    import devices.simulators

    devices.simulators.load_kind(kind)
    factory = _SIMULATORS.get(kind)
    if factory is None:
        _load_simulators()
        factory = _SIMULATORS.get(kind)
    if factory is None:
        import devices.simulators

        problems = devices.simulators.load_problems()
        hint = f"; modules that failed to load: {problems}" if problems else ""
        raise DeviceError(url, f"no simulator of kind {kind!r}; known: {', '.join(sorted(_SIMULATORS)) or 'none'}{hint}")
    params = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
    baud = _positive_number(url, "baud", params.pop("baud", "115200"))
    try:
        sim = factory(params)
    except ValueError as exc:
        raise DeviceError(url, str(exc)) from exc
    sim.url = url
    sim.baud = baud
    sim.start()
    try:
        return SimTransport(url, sim, baud)
    except BaseException:
        sim.stop()
        raise


def open_transport(url: str) -> Transport:
    """Open the transport the URL names. Raises DeviceError for a malformed URL, TransportError if it cannot open."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "serial":
        params = _query(url, {"baud", "flow"})
        path = parts.netloc + parts.path if parts.netloc else parts.path
        if os.name == "nt" and path.startswith("/") and path[1:4].upper() == "COM":
            path = path[1:]
        if not path:
            raise DeviceError(url, "serial URL needs a device path, e.g. serial:///dev/ttyUSB0?baud=115200")
        baud = _positive_number(url, "baud", params.get("baud", str(DEFAULT_BAUD)))
        return SerialTransport(url, path, baud=baud, flow=params.get("flow", "none"))
    if scheme == "tcp":
        params = _query(url, {"timeout"})
        if not parts.hostname:
            raise DeviceError(url, "tcp URL needs a host, e.g. tcp://192.168.1.50:9100")
        try:
            port = parts.port or 9100
        except ValueError:
            raise DeviceError(url, "bad TCP port") from None
        timeout = _positive_number(url, "timeout", params.get("timeout", "3"), float)
        return TcpTransport(url, parts.hostname, port, timeout)
    if scheme == "file":
        _query(url, set())
        if not parts.path:
            raise DeviceError(url, "file URL needs a path, e.g. file:///dev/usb/lp0")
        return FileTransport(url, parts.path)
    if scheme == "sim":
        kind = parts.netloc or parts.path.strip("/")
        if not kind:
            raise DeviceError(url, "sim URL needs a kind, e.g. sim://printer")
        return _open_sim(url, kind)
    raise DeviceError(url, "unknown transport scheme; use serial://, tcp://, file:// or sim://")


class DriverPort:
    """A driver's transport: opened on first use, reopened on the next use after a port error, closed with the driver."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.transport: Transport | None = None
        self._broken = False

    def get(self) -> Transport:
        """The open transport (DeviceError for a malformed URL, TransportError if it cannot open)."""
        if self.transport is None:
            self.transport = open_transport(self.url)
            self._broken = False
        elif self._broken:
            self.transport.reopen()
            self._broken = False
        return self.transport

    def mark_broken(self) -> None:
        """The port failed in use (unplugged): reopen it before the next use."""
        self._broken = True

    def close(self) -> None:
        transport, self.transport = self.transport, None
        if transport is not None:
            try:
                transport.close()
            except DeviceError:
                pass
