"""Transports by URL: serial over a real pseudo-terminal, file, and sim:// with unplug/replug (TCP: tests/e2e/test_tcp_transport.py)."""
from __future__ import annotations

import os
import tty

import pytest

from devices.errors import DeviceError, TransportError
from devices.simulators.base import SimulatedDevice
from devices.transport import FileTransport, SerialTransport, open_transport, register_simulator, simulator_kinds


@pytest.fixture
def pty_pair():
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    yield master, path
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


@pytest.mark.parametrize("url, words", [
    ("ftp://x", "unknown transport scheme"),
    ("serial:///dev/ttyUSB0?baudrate=9600", "baudrate"),
    ("serial:///dev/ttyUSB0?baud=fast", "baud='fast'"),
    ("serial:///dev/ttyUSB0?flow=xonxoff", "flow='xonxoff'"),
    ("serial://", "device path"),
    ("tcp://:9100", "needs a host"),
    ("sim://", "needs a kind"),
    ("sim://no-such-device", "no simulator of kind 'no-such-device'"),
    ("sim://printer?papr=out", "papr"),
])
def test_bad_urls_are_refused_naming_the_url(url, words):
    with pytest.raises(DeviceError) as info:
        open_transport(url)
    assert str(info.value).startswith(url + ": ")
    assert words in str(info.value)


def test_missing_serial_port_names_the_port():
    with pytest.raises(TransportError, match=r"serial:///dev/ttyNOPE9\?baud=115200: cannot open /dev/ttyNOPE9"):
        open_transport("serial:///dev/ttyNOPE9?baud=115200")


def test_serial_on_a_pseudo_terminal_moves_bytes_both_ways(pty_pair):
    master, path = pty_pair
    t = open_transport(f"serial://{path}?baud=115200&flow=none")
    try:
        assert isinstance(t, SerialTransport) and t.simulator is None and t.baud == 115200
        t.write(b"\x10\x04\x01")
        assert os.read(master, 16) == b"\x10\x04\x01"
        assert t.read(10, 0.05) == b""  # nothing sent: timeout gives b""
        os.write(master, b"\x12\x12\x12")
        got = t.read(1, 2.0)
        assert got == b"\x12"
        rest = t.read(10, 2.0)
        assert rest == b"\x12\x12"  # returns what is there, does not wait for all 10
    finally:
        t.close()
    with pytest.raises(TransportError, match="port is closed"):
        t.read(1, 0)


def test_serial_read_fails_when_the_other_side_goes_away(pty_pair):
    master, path = pty_pair
    t = open_transport(f"serial://{path}")
    try:
        os.close(master)
        with pytest.raises(TransportError, match=rf"serial://{path}: read failed"):
            t.read(1, 1.0)
    finally:
        t.close()


def test_file_transport_appends_and_never_answers(tmp_path):
    path = tmp_path / "lp0"
    t = open_transport(f"file://{path}")
    assert isinstance(t, FileTransport)
    t.write(b"\x1b@")
    t.write(b"hello\n")
    assert t.read(1, 1.0) == b""
    t.close()
    assert path.read_bytes() == b"\x1b@hello\n"


def test_sim_transport_speaks_through_a_pty_and_survives_unplug_replug():
    t = open_transport("sim://printer?baud=9600")
    sim = t.simulator
    try:
        assert sim.slave_path.startswith("/dev/")
        assert t.baud == 9600 and sim.baud == 9600
        t.write(b"\x10\x04\x01")
        assert t.read(1, 5.0) == b"\x12"
        sim.unplug()
        assert sim.slave_path is None
        with pytest.raises(TransportError, match=r"sim://printer\?baud=9600: "):
            t.write(b"\x10\x04\x01")
            t.read(1, 1.0)
        with pytest.raises(TransportError, match="unplugged"):
            t.reopen()
        sim.replug()
        t.reopen()
        t.write(b"\x10\x04\x01")
        assert t.read(1, 5.0) == b"\x12"
    finally:
        t.close()
    assert not sim.plugged


class _Echo(SimulatedDevice):
    kind = "echo-test"

    def __init__(self, prefix: bytes) -> None:
        super().__init__()
        self.prefix = prefix

    def on_bytes(self, data: bytes) -> None:
        self.send(self.prefix + data)


def test_other_packages_plug_their_simulators_into_sim_urls():
    register_simulator("echo-test", lambda params: _Echo(params.get("prefix", ">").encode()))
    assert {"printer", "idcard", "echo-test"} <= set(simulator_kinds())
    t = open_transport("sim://echo-test?prefix=%3E%3E")
    try:
        assert isinstance(t.simulator, _Echo)
        t.write(b"hi")
        assert t.simulator.wait_received(lambda got: got == b"hi")
        data = b""
        while len(data) < 4:
            chunk = t.read(16, 5.0)
            assert chunk, "echo simulator did not answer"
            data += chunk
        assert data == b">>hi"
    finally:
        t.close()
