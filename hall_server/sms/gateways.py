"""Where the outbox's messages go: an SMS platform over HTTP, a modem through gammu-smsd (files backend), or a
folder (demo). Every gateway is idempotent per outbox id: handing a message over twice (a crash between the
hand-over and "mark sent") sends it once, or at least lets the platform see the duplicate.

Gateway errors never carry a phone number (they end up in the outbox's last_error and in logs)."""
from __future__ import annotations

import configparser
import hashlib
import hmac
import json
import logging
import os
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from hall_server.crypto import mask_phone
from hall_server.sms.settings import SmsSettings

log = logging.getLogger("onewindow.sms")

SIGNATURE_HEADER = "X-OneWindow-Signature"


class GatewayError(Exception):
    """The gateway did not accept the message (retried later)."""


class GatewayConfigError(Exception):
    """The gateway cannot be used as configured (reported at start and by check-config)."""


@runtime_checkable
class Gateway(Protocol):
    def send(self, msg_id: str, to: str, text: str) -> None:
        """Hands one message over; returns when the gateway accepted it, raises otherwise. Idempotent per
        msg_id."""

    def erase_before(self, cutoff: float) -> int:
        """Removes the gateway's own files with personal data last written before `cutoff` (Unix seconds);
        returns how many."""

    def incoming(self) -> list[tuple[str, str]]:
        """Received messages (sender, text) not reported before; [] where the gateway receives nothing."""


# ---------------------------------------------------------------- http

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):    # a redirected POST is not accepted
        return None


class HttpGateway:
    """POST {url} JSON {"id","to","text"}; header X-OneWindow-Signature: hex(HMAC-SHA256(secret, body)) when a
    secret is set. Any 2xx is acceptance; the same id goes with every retry, so the platform can drop
    duplicates."""

    def __init__(self, url: str, *, secret: bytes | None = None, timeout_s: float = 10.0) -> None:
        self.url = url
        self.secret = secret
        self.timeout_s = timeout_s
        self._host = urlsplit(url).netloc
        self._opener = urllib.request.build_opener(_NoRedirect)

    def body(self, msg_id: str, to: str, text: str) -> bytes:
        return json.dumps({"id": msg_id, "to": to, "text": text}, ensure_ascii=False,
                          separators=(",", ":")).encode("utf-8")

    def send(self, msg_id: str, to: str, text: str) -> None:
        body = self.body(msg_id, to, text)
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "OneWindow-SMS"}
        if self.secret:
            headers[SIGNATURE_HEADER] = hmac.new(self.secret, body, hashlib.sha256).hexdigest()
        req = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with self._opener.open(req, timeout=self.timeout_s) as resp:
                status = resp.status
                resp.read(4096)
        except urllib.error.HTTPError as exc:
            exc.close()
            raise GatewayError(f"{self._host} answered HTTP {exc.code}") from None
        except urllib.error.URLError as exc:
            raise GatewayError(f"cannot reach {self._host}: {exc.reason}") from None
        except (OSError, ValueError) as exc:          # timeouts, resets mid-answer
            raise GatewayError(f"{self._host}: {type(exc).__name__}: {exc}") from None
        if not 200 <= status < 300:
            raise GatewayError(f"{self._host} answered HTTP {status}")

    def erase_before(self, cutoff: float) -> int:
        return 0

    def incoming(self) -> list[tuple[str, str]]:
        return []


# ---------------------------------------------------------------- gammu-smsd, files backend

_IN_NAME = re.compile(r"IN(\d{8})_(\d{6})_(\d{2})_([^_]+)_(\d{2})\.txt", re.IGNORECASE)
UNICODE_TRANSMIT = ("unicode", "auto")


def _decode_gammu_text(raw: bytes) -> str:
    """A files-backend message: UTF-16 with a byte-order mark (InboxFormat = unicode, gammu writes FE FF + UTF-16BE
    and pads with NUL units) or the system charset (InboxFormat = standard)."""
    if raw[:2] == b"\xfe\xff":
        text = raw[2:].decode("utf-16-be", errors="replace")
    elif raw[:2] == b"\xff\xfe":
        text = raw[2:].decode("utf-16-le", errors="replace")
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("gb18030", errors="replace")
    return text.split("\x00", 1)[0]


class GammuFilesGateway:
    """gammu-smsd with `service = files`: OneWindow writes the outbox file itself, as
    `OUTA<date>_<time>_00_<recipient>_<outbox id>.txt` (gammu-smsd-files(7); the id is the <note>), in UTF-16LE
    with a byte-order mark (gammu reads a file starting FF FE / FE FF as Unicode), under a hidden temporary name
    first (gammu skips names starting with '.') and renamed. A file for that id in outbox/, sent/ or error/ means
    it was handed over before: not written again.

    The rc must use absolute paths ending in '/' (gammu resolves relative ones against the daemon's working
    directory and appends file names to the path as written), a SentSMSPath apart from OutboxPath (else sent files
    are deleted and a re-sent message cannot be recognised), and TransmitFormat = unicode or auto: gammu-smsd 1.42
    transmits in the GSM 7-bit alphabet when TransmitFormat is not set, which garbles Chinese (verified with the
    dummy phone: 'cod 3' in its log). Received messages are read from InboxPath (InboxFormat unicode or
    standard) and deleted once read."""

    def __init__(self, rc_path: str | Path, *, settle_s: float = 1.0) -> None:
        self.rc_path = Path(rc_path)
        self.settle_s = settle_s
        cfg = self.read_rc(self.rc_path)
        self.outbox = cfg["outboxpath"]
        self.sent = cfg["sentsmspath"]
        self.error = cfg["errorsmspath"]
        self.inbox = cfg["inboxpath"]
        self._serial = 0

    @staticmethod
    def read_rc(rc_path: Path) -> dict[str, Path]:
        where = f"gammu-smsd config {rc_path}"
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            with open(rc_path, encoding="utf-8") as fh:
                parser.read_file(fh)
        except (OSError, UnicodeDecodeError, configparser.Error) as exc:
            raise GatewayConfigError(f"{where}: cannot read: {exc}") from None
        section = next((s for s in parser.sections() if s.lower() == "smsd"), None)
        if section is None:
            raise GatewayConfigError(f"{where}: no [smsd] section")
        smsd = {k.lower(): v.strip() for k, v in parser.items(section)}
        service = smsd.get("service", "").lower()
        if service != "files":
            raise GatewayConfigError(
                f"{where}: [smsd] service = {service or '(not set)'}: OneWindow supports service = files only "
                "so far (it writes the outbox files itself, keyed by the outbox id; the sql backend is not "
                "supported yet)")
        transmit = smsd.get("transmitformat", "").lower()
        if transmit not in UNICODE_TRANSMIT:
            raise GatewayConfigError(
                f"{where}: [smsd] TransmitFormat = {transmit or '(not set)'}: set TransmitFormat = unicode "
                "(gammu-smsd 1.42 sends in the GSM 7-bit alphabet when it is not set, and Chinese arrives "
                "garbled)")
        if smsd.get("inboxformat", "").lower() == "detail":
            raise GatewayConfigError(f"{where}: [smsd] InboxFormat = detail: use unicode (OneWindow reads 退订 "
                                     "replies from the inbox files)")
        paths: dict[str, Path] = {}
        for key in ("outboxpath", "sentsmspath", "errorsmspath", "inboxpath"):
            value = smsd.get(key) or (smsd.get("sentsmspath") if key == "errorsmspath" else None)
            if not value:
                raise GatewayConfigError(f"{where}: [smsd] {key} is not set (OneWindow needs outbox, sent and "
                                         "inbox folders; without SentSMSPath gammu deletes sent messages)")
            if not value.startswith("/"):
                raise GatewayConfigError(f"{where}: [smsd] {key} = {value}: use an absolute path (gammu-smsd "
                                         "resolves a relative one against its own working directory)")
            if not value.endswith("/"):
                raise GatewayConfigError(f"{where}: [smsd] {key} = {value}: end it with '/' (gammu-smsd appends "
                                         "file names to the path as written)")
            path = Path(value)
            if not path.is_dir():
                raise GatewayConfigError(f"{where}: [smsd] {key} = {value}: no such folder")
            paths[key] = path
        if paths["sentsmspath"] == paths["outboxpath"]:
            raise GatewayConfigError(f"{where}: [smsd] SentSMSPath is OutboxPath: gammu-smsd then deletes sent "
                                     "messages, and a message handed over twice would go out twice")
        return paths

    def _handed_over(self, msg_id: str) -> Path | None:
        suffix = f"_{msg_id}.txt"
        for folder in (self.outbox, self.sent, self.error):
            try:
                with os.scandir(folder) as it:
                    for entry in it:
                        if entry.name.startswith("OUT") and suffix in entry.name:
                            return Path(entry.path)
            except OSError as exc:
                raise GatewayError(f"cannot read gammu-smsd folder {folder}: {exc.strerror}") from None
        return None

    def send(self, msg_id: str, to: str, text: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9]+", msg_id):
            raise GatewayError("an outbox id has letters and digits only")
        if not re.fullmatch(r"\+?\d{3,20}", to):
            raise GatewayError("a recipient has digits only")
        found = self._handed_over(msg_id)
        if found is not None:
            level = logging.WARNING if found.parent == self.error else logging.INFO
            log.log(level, "sms %s was handed to gammu-smsd before (now in %s/): not written again", msg_id,
                    found.parent.name)
            return
        stamp = time.strftime("%Y%m%d_%H%M%S")
        self._serial = (self._serial + 1) % 100
        name = f"OUTA{stamp}_{self._serial:02d}_{to}_{msg_id}.txt"
        tmp = self.outbox / f".{msg_id}.tmp"
        try:
            with open(tmp, "wb") as fh:
                fh.write(b"\xff\xfe" + text.encode("utf-16-le"))
                fh.flush()
                os.fsync(fh.fileno())
            os.rename(tmp, self.outbox / name)
            dir_fd = os.open(self.outbox, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError as exc:
            try:
                tmp.unlink(missing_ok=True)
            except OSError:
                pass
            raise GatewayError(f"cannot write to the gammu-smsd outbox {self.outbox}: {exc.strerror}") from None
        log.debug("sms %s to %s written to the gammu-smsd outbox", msg_id, mask_phone(to))

    def erase_before(self, cutoff: float) -> int:
        removed = 0
        for folder in (self.sent, self.error, self.inbox):
            try:
                entries = list(os.scandir(folder))
            except OSError:
                continue
            for entry in entries:
                if not entry.name.startswith(("OUT", "IN")) or not entry.is_file():
                    continue
                try:
                    if entry.stat().st_mtime < cutoff:
                        os.unlink(entry.path)
                        removed += 1
                except OSError as exc:
                    log.warning("cannot remove an old gammu-smsd file in %s: %s", folder, exc.strerror)
        return removed

    def incoming(self) -> list[tuple[str, str]]:
        """Messages gammu-smsd saved to the inbox, parts joined, oldest first; the files are deleted once read
        (they hold a phone number). Files younger than settle_s are left for the next call (gammu may still be
        writing them)."""
        try:
            entries = list(os.scandir(self.inbox))
        except OSError as exc:
            log.warning("cannot read the gammu-smsd inbox %s: %s", self.inbox, exc.strerror)
            return []
        now = time.time()
        groups: dict[tuple[str, ...], list[tuple[int, os.DirEntry]]] = {}
        for entry in entries:
            m = _IN_NAME.fullmatch(entry.name)
            if not m:
                continue
            groups.setdefault(m.groups()[:4], []).append((int(m.group(5)), entry))
        out = []
        for key in sorted(groups):
            parts = sorted(groups[key], key=lambda p: p[0])
            try:
                if any(now - e.stat().st_mtime < self.settle_s for _, e in parts):
                    continue
                text = "".join(_decode_gammu_text(Path(e.path).read_bytes()) for _, e in parts)
            except OSError as exc:
                log.warning("cannot read a gammu-smsd inbox file: %s", exc.strerror)
                continue
            for _, e in parts:
                try:
                    os.unlink(e.path)
                except OSError as exc:
                    log.warning("cannot remove a read gammu-smsd inbox file: %s", exc.strerror)
            out.append((key[3], text))
        return out


# ---------------------------------------------------------------- dir (demo)

class DirGateway:
    """Demo only: each message becomes `<outbox id>.txt` in a folder, holding JSON {"id","to","text"}; a file
    already there is not written again."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)

    def send(self, msg_id: str, to: str, text: str) -> None:
        if not re.fullmatch(r"[A-Za-z0-9]+", msg_id):
            raise GatewayError("an outbox id has letters and digits only")
        target = self.path / f"{msg_id}.txt"
        if target.exists():
            return
        tmp = self.path / f".{msg_id}.tmp"
        try:
            tmp.write_text(json.dumps({"id": msg_id, "to": to, "text": text}, ensure_ascii=False),
                           encoding="utf-8")
            os.replace(tmp, target)
        except OSError as exc:
            raise GatewayError(f"cannot write to {self.path}: {exc.strerror}") from None

    def erase_before(self, cutoff: float) -> int:
        removed = 0
        for p in self.path.glob("S*.txt"):
            try:
                if p.stat().st_mtime < cutoff:
                    p.unlink()
                    removed += 1
            except OSError:
                pass
        return removed

    def incoming(self) -> list[tuple[str, str]]:
        return []


# ---------------------------------------------------------------- from the config

def _local_path(rest: str, base_dir: Path) -> Path:
    path = Path(rest)
    return path if path.is_absolute() else base_dir / path


def gateway_from(settings: SmsSettings, base_dir: str | Path) -> Gateway:
    """The gateway `[sms] gateway` names; a relative dir:// or gammu-smsd:// path is relative to base_dir (the
    data directory). GatewayConfigError when it cannot be used."""
    url = settings.gateway
    base = Path(base_dir)
    if url.startswith(("http://", "https://")):
        secret = settings.secret_value()
        if settings.secret and secret is None:
            raise GatewayConfigError(f"sms.secret: environment variable {settings.secret[4:]} is not set")
        return HttpGateway(url, secret=secret, timeout_s=settings.timeout_s)
    if url.startswith("gammu-smsd://"):
        return GammuFilesGateway(_local_path(url[len("gammu-smsd://"):], base))
    if url.startswith("dir://"):
        return DirGateway(_local_path(url[len("dir://"):], base))
    raise GatewayConfigError(f"sms.gateway: unknown form {url!r}")
