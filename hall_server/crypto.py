"""Personal data at rest (个人信息保护法): a case's applicant (name, ID number) and every stored phone number are
sealed with AES-256-GCM under a key kept outside the database — `env:NAME` (an environment variable, e.g. from a
systemd credential) or a key file readable by the server only. Without the key the rows are unreadable, and a
stolen database or backup reveals no identity.

A sealed value is `v1:` + base64url(12-byte nonce + ciphertext + tag); the column name (or another label) is bound
as associated data, so a value cannot be moved into another column and read there. Phone numbers are also looked up
(opt-outs, appointment cancels) by a keyed hash, never stored in clear."""
from __future__ import annotations

import base64
import logging
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "v1:"


class KeyError_(Exception):
    """The key cannot be had (missing variable, unreadable or loose file, wrong length)."""


def _decode_key(text: str, where: str) -> bytes:
    text = text.strip()
    for decode in (bytes.fromhex, lambda s: base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))):
        try:
            raw = decode(text)
        except ValueError:
            continue
        if len(raw) == 32:
            return raw
    raise KeyError_(f"{where}: the key must be 32 bytes, written as 64 hex digits or base64 "
                    f"(make one with: onewindow keygen)")


def load_key(spec: str, base: Path | None = None) -> bytes:
    """`env:NAME` or a path (relative to `base`). A key file must not be readable by group or others."""
    if spec.startswith("env:"):
        name = spec[4:]
        value = os.environ.get(name)
        if not value:
            raise KeyError_(f"environment variable {name} is not set (it holds the key for personal data)")
        return _decode_key(value, f"environment variable {name}")
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyError_(f"key file {path}: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyError_(f"key file {path} is readable by others (mode {stat.filemode(mode)}): chmod 600 it")
    return _decode_key(text, f"key file {path}")


def new_key_text() -> str:
    return secrets.token_hex(32)


class Sealer:
    """Seals and opens short strings; `digest` gives the lookup hash of a value (e.g. a phone number)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise KeyError_("the key must be 32 bytes")
        self._aead = AESGCM(key)
        self._mac_key = hmac.new(key, b"onewindow lookup", hashlib.sha256).digest()

    def seal(self, value: str, label: str) -> str:
        nonce = secrets.token_bytes(12)
        ct = self._aead.encrypt(nonce, value.encode("utf-8"), label.encode("ascii"))
        return PREFIX + base64.urlsafe_b64encode(nonce + ct).decode("ascii").rstrip("=")

    def open(self, sealed: str, label: str) -> str:
        if not sealed.startswith(PREFIX):
            raise ValueError("not a sealed value")
        body = sealed[len(PREFIX):]
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        try:
            return self._aead.decrypt(raw[:12], raw[12:], label.encode("ascii")).decode("utf-8")
        except InvalidTag:
            raise ValueError("sealed value does not open with this key (wrong key, or moved between columns)") from None

    def digest(self, value: str, label: str) -> str:
        return hmac.new(self._mac_key, f"{label}\0{value}".encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(phone: str) -> str:
    """138****5678: the only form a phone number takes in a view or a log."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"



def load_or_create_key(spec: str, base: Path, log: "logging.Logger | None" = None) -> bytes:
    """The [cases] key: `env:NAME`, or a key file (relative to `base`, the data directory) that is created with
    mode 600 on first use. A created key is logged once: without it the sealed data cannot be read, so it must
    be backed up apart from the database."""
    if not spec.startswith("env:"):
        path = Path(spec) if Path(spec).is_absolute() else base / spec
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="ascii") as f:
                f.write(new_key_text() + "\n")
            if log is not None:
                log.warning("created the key for personal data at %s: back it up apart from the database (without "
                            "it the cases' applicants and phones cannot be read)", path)
    return load_key(spec, base)
