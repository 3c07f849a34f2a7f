"""Console users: one `name:role:argon2 hash` per line (comments with #), written by
`onewindow console user FILE NAME ROLE`; passwords are checked with argon2-cffi, off the event loop."""
from __future__ import annotations

import argparse
import os
import re
import sys
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from hall_bus.configfile import ask_twice

NAME = re.compile(r"^[A-Za-z0-9_.-]{1,32}$")
MIN_PASSWORD = 8
_HASHER = PasswordHasher()      # argon2id with the library's current defaults
# checked against when the user is unknown, so an unknown name costs as long as a wrong password
_DUMMY = _HASHER.hash("onewindow console: no such user")


class Role(StrEnum):
    """The console's own roles, each with everything of the one before it."""
    DESK = "desk"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def at_least(self, other: "Role") -> bool:
        return self.rank >= other.rank


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    hash: str = field(repr=False)


@dataclass
class UsersFile:
    path: Path
    users: dict[str, User] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)    # "line 3: ..." — that line is ignored, the rest loads

    @classmethod
    def read(cls, path: Path) -> "UsersFile":
        out = cls(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return out              # no users yet: nobody can log in (the console says so at start)
        except (OSError, UnicodeDecodeError) as exc:
            out.problems.append(f"{path}: cannot read: {exc}")
            return out
        for n, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            name, _, rest = line.partition(":")
            role, _, encoded = rest.partition(":")
            if not NAME.fullmatch(name):
                out.problems.append(f"line {n}: user name {name[:40]!r} (letters, digits, _ . - up to 32)")
            elif role not in Role.__members__.values():
                out.problems.append(f"line {n}: user {name}: role {role!r} is not one of manager, supervisor, desk")
            elif not encoded.startswith("$argon2"):
                out.problems.append(f"line {n}: user {name}: not an argon2 hash (write it with onewindow console user)")
            elif name in out.users:
                out.problems.append(f"line {n}: user {name} is listed twice")
            else:
                out.users[name] = User(name, Role(role), encoded)
        return out

    def set(self, name: str, role: Role, password: str) -> None:
        """Add or replace a user and write the file (mode 0600, replaced atomically)."""
        if not NAME.fullmatch(name):
            raise ValueError(f"user name {name!r}: letters, digits, _ . - up to 32")
        if len(password) < MIN_PASSWORD:
            raise ValueError(f"the password must have at least {MIN_PASSWORD} characters")
        self.users[name] = User(name, role, _HASHER.hash(password))
        lines = ["# OneWindow console users: name:role:argon2id hash (onewindow console user FILE NAME ROLE)"]
        lines += [f"{u.name}:{u.role}:{u.hash}" for u in self.users.values()]
        tmp = self.path.with_name(self.path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def check_password(user: User | None, password: str) -> bool:
    """Slow on purpose (argon2); run it on a worker thread."""
    try:
        return _HASHER.verify(user.hash if user else _DUMMY, password) and user is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def run_user(argv: list[str]) -> int:
    """`onewindow console user FILE NAME ROLE [--password-env NAME]`: add or change a console login."""
    p = argparse.ArgumentParser(prog="onewindow console user",
                                description="Add a console user or change one's role and password (argon2id).")
    p.add_argument("file", type=Path)
    p.add_argument("name")
    p.add_argument("role", choices=[r.value for r in Role])
    p.add_argument("--password-env", metavar="NAME", help="take the password from this environment variable "
                                                          "instead of asking twice")
    args = p.parse_args(argv)
    users = UsersFile.read(args.file)
    if args.password_env:
        password = os.environ.get(args.password_env, "")
    else:
        password = ask_twice(f"password for {args.name}: ")
        if password is None:
            sys.stderr.write("the passwords differ; nothing written\n")
            return 1
    try:
        users.set(args.name, Role(args.role), password)
    except ValueError as exc:
        sys.stderr.write(f"onewindow console user: {exc}\n")
        return 1
    return 0
