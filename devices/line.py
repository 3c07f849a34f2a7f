"""One thread owns one serial line: the job queue, start/close and port recovery shared by the RS-485 buses."""
from __future__ import annotations

import logging
import queue
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future
from typing import Any, Callable, Protocol, Self

from devices.errors import DeviceError


class Transport(Protocol):
    def write(self, data: bytes) -> Any: ...
    def read(self, n: int, timeout: float) -> bytes: ...
    def close(self) -> None: ...


class BusClosed(DeviceError):
    """The bus was closed before the command ran."""


class Job(Protocol):
    future: Future


_STOP = object()


class SerialLine(ABC):
    """Base of a bus master. Commands from any thread become jobs on a queue; the line's own thread runs them
    in `_serve(job)` (job None: no job came within `_idle_wait()`, do the idle work). A DeviceError out of
    `_serve` means the port itself failed (unplugged, closed): it is reported once through `_line_down`,
    then the port is reopened with a fresh frame parser. Jobs still queued at close fail with BusClosed."""

    def __init__(self, transport: Transport, *, url: str, thread_name: str,
                 new_parser: Callable[[], Any], log: logging.Logger) -> None:
        self.transport = transport
        self.url = url
        self._thread_name = thread_name
        self._new_parser = new_parser
        self._parser = new_parser()
        self._log = log
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._transport_problem: str | None = None

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self._thread_name, daemon=True)
        self._thread.start()
        return self

    def close(self, timeout: float = 3.0) -> None:
        self._stopping.set()
        self._jobs.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                break
            if job is not _STOP and not job.future.done():
                job.future.set_exception(BusClosed(self.url, "bus closed"))
        try:
            self.transport.close()
        except Exception:  # closing a dead port must not hide the real problem
            self._log.debug("closing %s failed", self.url, exc_info=True)

    def _queue(self, job: Job) -> Future:
        if self._stopping.is_set():
            job.future.set_exception(BusClosed(self.url, "bus closed"))
        else:
            self._jobs.put(job)
        return job.future

    def _queued_job(self) -> Any:
        """A job queued meanwhile, or None (also when closing: the stop mark stays queued for the thread loop)."""
        try:
            job = self._jobs.get_nowait()
        except queue.Empty:
            return None
        if job is _STOP:
            self._jobs.put(_STOP)
            return None
        return job

    # ------------------------------------------------------------ the line's thread
    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._jobs.get(timeout=self._idle_wait())
            except queue.Empty:
                job = None
            if job is _STOP:
                break
            try:
                self._serve(job)
            except DeviceError as exc:
                self._port_failed(str(exc))

    def _idle_wait(self) -> float:
        """Seconds to wait for a job before doing the idle work."""
        return 0.0

    @abstractmethod
    def _serve(self, job: Any) -> None:
        """Run `job`, or the idle work when it is None; raise DeviceError only when the port failed."""

    @abstractmethod
    def _line_down(self, problem: str) -> None:
        """Mark every device on the line ERROR with `problem`."""

    def _transport_ok(self) -> None:
        self._transport_problem = None

    def _port_failed(self, problem: str) -> None:
        if self._transport_problem != problem:
            self._transport_problem = problem
            self._log.error("%s: %s", self.url, problem)
            self._line_down(problem)
        self._stopping.wait(1.0)
        self._try_reopen()

    def _try_reopen(self) -> None:
        reopen = getattr(self.transport, "reopen", None)
        if reopen is None or self._stopping.is_set():
            return
        try:
            reopen()
            self._parser = self._new_parser()
            self._log.info("%s: port reopened", self.url)
        except DeviceError as exc:
            self._log.debug("%s: reopen failed: %s", self.url, exc)
