"""The broker password file: one `client-id:hash` per line, in Mosquitto's format, so one file serves the embedded
broker and a Mosquitto (`password_file`) alike, and `mosquitto_passwd` or `onewindow passwd` can write it.

Hashes understood: `$7$iterations$salt$hash` (PBKDF2-HMAC-SHA512, Mosquitto 2's default) and `$6$salt$hash`
(SHA-512 of password+salt, Mosquitto 1.x). Salt and hash are base64. The username is the MQTT client id
(PROTOCOL.md: the broker ties each username to its client id)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

ITERATIONS = 20_000          # ~10 ms to check in the broker's worker thread; Mosquitto's own default is 101
_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


@dataclass
class PasswordFile:
    path: Path
    hashes: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)     # "line 3: ..." — the entry is ignored, the rest loads


def _b64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def check_hash(encoded: str) -> str | None:
    """None when `encoded` is a hash this module can verify, else what is wrong with it."""
    parts = encoded.split("$")
    try:
        if len(parts) == 5 and parts[1] == "7":
            if not parts[2].isdigit() or int(parts[2]) < 1:
                return "iterations must be a positive number"
            _b64(parts[3])
            return None if len(_b64(parts[4])) == 64 else "PBKDF2-SHA512 hash must be 64 bytes"
        if len(parts) == 4 and parts[1] == "6":
            _b64(parts[2])
            return None if len(_b64(parts[3])) == 64 else "SHA-512 hash must be 64 bytes"
    except (binascii.Error, ValueError):
        return "salt or hash is not base64"
    return "unknown hash format (expected $7$… from mosquitto_passwd or onewindow passwd)"


def verify(encoded: str, password: str) -> bool:
    parts = encoded.split("$")
    secret = password.encode("utf-8")
    try:
        if len(parts) == 5 and parts[1] == "7":
            digest = hashlib.pbkdf2_hmac("sha512", secret, _b64(parts[3]), int(parts[2]), 64)
            return hmac.compare_digest(digest, _b64(parts[4]))
        if len(parts) == 4 and parts[1] == "6":
            return hmac.compare_digest(hashlib.sha512(secret + _b64(parts[2])).digest(), _b64(parts[3]))
    except (binascii.Error, ValueError):
        return False
    return False


def hash_password(password: str, *, iterations: int = ITERATIONS) -> str:
    salt = os.urandom(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode("utf-8"), salt, iterations, 64)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def read_password_file(path: str | Path) -> PasswordFile:
    """Raises OSError when the file cannot be read; bad lines are listed in `problems` and skipped."""
    pf = PasswordFile(Path(path))
    for n, raw in enumerate(pf.path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, encoded = line.partition(":")
        problem = ("no ':' between client id and hash" if not sep else
                   f"client id {name!r} is not a client id" if not _NAME.fullmatch(name) else
                   f"{name} appears twice" if name in pf.hashes else check_hash(encoded))
        if problem:
            pf.problems.append(f"{pf.path}: line {n}: {problem}")
        else:
            pf.hashes[name] = encoded
    return pf


def set_password(path: str | Path, client: str, password: str) -> None:
    """Add or replace one client's entry, keeping the other lines (and comments) as they are."""
    if not _NAME.fullmatch(client):
        raise ValueError(f"{client!r} is not a client id (kiosk-k1, panel-w15, devices-hall, display-main ...)")
    p = Path(path)
    lines = p.read_text(encoding="utf-8").splitlines() if p.exists() else []
    entry = f"{client}:{hash_password(password)}"
    kept = [ln for ln in lines if ln.partition(":")[0].strip() != client]
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text("\n".join(kept + [entry]) + "\n", encoding="utf-8")
    os.chmod(tmp, 0o640)
    os.replace(tmp, p)


def run(argv: list[str]) -> int:
    """`onewindow passwd FILE CLIENT_ID`: add or change one client's broker password (asked twice, or one line
    on stdin with --stdin). The same file works for the embedded broker and Mosquitto's password_file."""
    import argparse
    import sys

    from hall_bus.configfile import ask_twice
    ap = argparse.ArgumentParser(prog="onewindow passwd", description=run.__doc__)
    ap.add_argument("file", help="the password file named by [broker] password_file in the hall config")
    ap.add_argument("client", help="the MQTT client id that logs in with it, e.g. kiosk-k1 or panel-w15")
    ap.add_argument("--stdin", action="store_true", help="read the password from one line of standard input")
    args = ap.parse_args(argv)
    if args.stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = ask_twice(f"password for {args.client}: ")
        if password is None:
            print("onewindow passwd: the two passwords differ; nothing changed", file=sys.stderr)
            return 1
    if len(password) < 8:
        print("onewindow passwd: use at least 8 characters; nothing changed", file=sys.stderr)
        return 1
    try:
        set_password(args.file, args.client, password)
    except (OSError, ValueError) as exc:
        print(f"onewindow passwd: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: password for {args.client} set")
    return 0
