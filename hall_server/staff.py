"""Window staff (窗口工作人员): the staff file, PIN hashes, sign-in throttling and `onewindow staff`.

The staff file (hall.toml `[staff] file`, relative to the hall config) lists who may sign in at which windows:

    [[staff]]
    number = "1015"                  # numeric: a keypad can enter it
    name = "王芳"                     # shown masked (王*) everywhere on the bus
    department = "civil_affairs"     # a [[departments]] id of hall.toml
    windows = ["w15", "w16"]         # or ["*"]: every window
    pin = "$argon2id$v=19$..."       # written by `onewindow staff FILE NUMBER`, never the PIN itself

PINs are checked with argon2 off the request worker (hall_server.service); a wrong PIN and an unknown number get the
same `bad_login`. Repeated failures at a window slow that window down (SignInGuard); nobody is ever locked out.
Nothing here logs a PIN or a full name.
"""
from __future__ import annotations

import json
import os
import re
import threading
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from argon2 import PasswordHasher, extract_parameters
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# argon2id sized for PINs checked by a small pool on a busy hall server: 19 MiB, 2 passes (OWASP's minimum for
# argon2id), one lane — about 20 ms a check, so 102 windows signing in at 08:30 take a couple of seconds in all.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
NUMBER = re.compile(r"^\d{1,12}$")
PIN = re.compile(r"^\d{4,12}$")
# checked instead when the number is unknown, so an unknown number costs the same time as a wrong PIN
_DUMMY_HASH = _HASHER.hash("000000000000")

SLOW_AFTER = 2          # failures at a window answered at once; from the next one on, a growing delay
SLOW_BASE_S = 1.0       # the first delay, doubled per further failure
SLOW_MAX_S = 30.0       # and never longer: a staff member is slowed down, never locked out


@dataclass(frozen=True)
class StaffMember:
    number: str
    name: str
    department: str
    windows: tuple[str, ...]        # window ids, or ("*",)
    pin: str                        # argon2 hash

    @property
    def masked(self) -> str:
        return mask_name(self.name)

    def may_sign_in_at(self, window: str) -> bool:
        return "*" in self.windows or window in self.windows


@dataclass
class StaffBook:
    """The staff file as loaded: members by number."""
    members: dict[str, StaffMember] = field(default_factory=dict)
    path: Path | None = None

    def get(self, number: str) -> StaffMember | None:
        return self.members.get(number)

    def masked_name(self, number: str | None) -> str | None:
        m = self.members.get(number or "")
        return m.masked if m else None


def mask_name(name: str) -> str:
    """王芳 -> 王*, 欧阳娜娜 -> 欧*: the family name's first character and one star (as on tickets)."""
    name = name.strip()
    return f"{name[0]}*" if name else "*"


def hash_pin(pin: str) -> str:
    if not PIN.fullmatch(pin):
        raise ValueError("a PIN is 4 to 12 digits")
    return _HASHER.hash(pin)


def verify_pin(member: StaffMember | None, pin: str) -> bool:
    """The PIN against the member's hash (slow on purpose); an unknown member checks a dummy hash and fails."""
    try:
        ok = _HASHER.verify(member.pin if member else _DUMMY_HASH, pin)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    return ok and member is not None


def _check_hash(encoded: Any) -> str | None:
    if not isinstance(encoded, str) or not encoded.startswith("$argon2"):
        return "not an argon2 hash (write it with onewindow staff FILE NUMBER)"
    try:
        extract_parameters(encoded)          # the format only: checking a PIN is for sign-in
    except (InvalidHashError, ValueError):
        return "not a valid argon2 hash"
    return None


def load_staff_file(path: Path, windows: Iterable[str] | None,
                    departments: Iterable[str] | None) -> tuple[StaffBook, list[str]]:
    """Read the staff file; problems ('staff[1015].windows[0]: no window 'w999'') are returned, the bad rows left
    out. A file that cannot be read is one problem. windows / departments None: those references are not checked
    (a staff file checked on its own, without its hall)."""
    book = StaffBook(path=path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return book, [f"staff.file: {path} not found"]
    except (OSError, UnicodeDecodeError) as exc:
        return book, [f"staff.file: {path} cannot be read: {exc}"]
    except tomllib.TOMLDecodeError as exc:
        return book, [f"{path.name}: (syntax): {exc}"]
    window_ids = set(windows) if windows is not None else None
    dept_ids = set(departments) if departments is not None else None
    problems: list[str] = []
    extra = sorted(set(data) - {"staff"})
    if extra:
        problems.append(f"{path.name}: unknown key(s) {', '.join(extra)} (only [[staff]] rows)")
    rows = data.get("staff", [])
    if not isinstance(rows, list):
        return book, problems + [f"{path.name}: staff: expected [[staff]] rows"]
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            problems.append(f"{path.name}: staff[{i}]: expected a table")
            continue
        number = row.get("number")
        where = f"staff[{number}]" if isinstance(number, str) and NUMBER.fullmatch(number) else f"staff[{i}]"
        mine: list[str] = []
        unknown = sorted(set(row) - {"number", "name", "department", "windows", "pin"})
        if unknown:
            mine.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        if not isinstance(number, str) or not NUMBER.fullmatch(number):
            mine.append(f"{where}.number: must be a string of 1-12 digits (got {number!r})")
        elif number in book.members or any(isinstance(r, dict) and r.get("number") == number for r in rows[:i]):
            mine.append(f"{where}.number: {number} appears twice")
        name = row.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > 40:
            mine.append(f"{where}.name: required, at most 40 characters")
        dept = row.get("department")
        if not isinstance(dept, str) or (dept_ids is not None and dept not in dept_ids):
            mine.append(f"{where}.department: no department {dept!r}")
        wins = row.get("windows", [])
        if not isinstance(wins, list) or not wins or not all(isinstance(w, str) for w in wins):
            mine.append(f"{where}.windows: a list of window ids, or [\"*\"]")
            wins = []
        for j, w in enumerate(wins):
            if w != "*" and window_ids is not None and w not in window_ids:
                mine.append(f"{where}.windows[{j}]: no window {w!r}")
        why = _check_hash(row.get("pin"))
        if why:
            mine.append(f"{where}.pin: {why}")
        if mine:
            problems.extend(f"{path.name}: {p}" for p in mine)
            continue
        book.members[number] = StaffMember(number, name.strip(), dept, tuple(wins), row["pin"])
    return book, problems


@dataclass(frozen=True)
class StaffFileCheck:
    """What `onewindow check-config staff.toml` found: the members, and the hall file their windows and departments
    were checked against (None: no hall.toml beside the file names it, so those references went unchecked)."""
    book: StaffBook
    hall: Path | None


def check_staff_file(path: str | Path) -> StaffFileCheck:
    """check-config's loader for a staff file: checked against the hall.toml beside it when that file's `[staff] file`
    is this one (its windows and departments), else on its own. Raises ConfigError listing every problem."""
    from hall_bus.configfile import ConfigError
    path = Path(path)
    hall_path = path.parent / "hall.toml"
    windows = departments = None
    hall: Path | None = None
    try:
        raw = tomllib.loads(hall_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        raw = {}
    named = (raw.get("staff") or {}).get("file") if isinstance(raw.get("staff"), dict) else None
    if isinstance(named, str) and named and (hall_path.parent / named).resolve() == path.resolve():
        hall = hall_path
        windows = [w.get("id") for w in raw.get("windows", []) if isinstance(w, dict)]
        departments = [d.get("id") for d in raw.get("departments", []) if isinstance(d, dict)]
    book, problems = load_staff_file(path, windows, departments)
    if problems:
        prefix = f"{path.name}: "
        raise ConfigError(path, [p[len(prefix):] if p.startswith(prefix) else p for p in problems])
    return StaffFileCheck(book, hall)


# ---------------------------------------------------------------- sign-in throttling
class SignInGuard:
    """Failures per window: after SLOW_AFTER failures each further answer waits longer (SLOW_BASE_S doubled per
    failure, at most SLOW_MAX_S); a success resets the window. Per window, never per staff member: nobody is
    locked out, and a guesser at one window does not slow the others."""

    def __init__(self, *, after: int = SLOW_AFTER, base_s: float = SLOW_BASE_S, max_s: float = SLOW_MAX_S,
                 clock: Any = time.monotonic) -> None:
        self.after, self.base_s, self.max_s = after, base_s, max_s
        self.clock = clock
        self._lock = threading.Lock()
        self._failures: dict[str, int] = {}
        self._not_before: dict[str, float] = {}

    def delay_for(self, failures: int) -> float:
        if failures <= self.after:
            return 0.0
        return min(self.max_s, self.base_s * 2 ** (failures - self.after - 1))

    def wait_s(self, window: str) -> float:
        """How long a new attempt at this window waits before its PIN is checked."""
        with self._lock:
            return max(0.0, self._not_before.get(window, 0.0) - self.clock())

    def failed(self, window: str) -> float:
        """A failure: how long its answer waits (the window's next attempts wait as long)."""
        with self._lock:
            n = self._failures[window] = self._failures.get(window, 0) + 1
            delay = self.delay_for(n)
            self._not_before[window] = self.clock() + delay
            return delay

    def succeeded(self, window: str) -> None:
        with self._lock:
            self._failures.pop(window, None)
            self._not_before.pop(window, None)

    def failures(self, window: str) -> int:
        with self._lock:
            return self._failures.get(window, 0)


# ---------------------------------------------------------------- the file, written by `onewindow staff`
def _toml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def render_staff(rows: list[dict[str, Any]], header: str = "") -> str:
    out = [header.rstrip("\n")] if header.strip() else []
    for r in rows:
        out.append("")
        out.append("[[staff]]")
        out.append(f"number = {_toml_str(r['number'])}")
        out.append(f"name = {_toml_str(r.get('name', ''))}")
        out.append(f"department = {_toml_str(r.get('department', ''))}")
        out.append("windows = [" + ", ".join(_toml_str(w) for w in r.get("windows", [])) + "]")
        out.append(f"pin = {_toml_str(r.get('pin', ''))}")
    return "\n".join(out).lstrip("\n") + "\n"


def set_staff(path: str | Path, number: str, pin: str, *, name: str | None = None, department: str | None = None,
              windows: list[str] | None = None) -> bool:
    """Add or update one staff member (the PIN hashed with argon2), keeping the others and the file's leading
    comment. Returns True when the member is new. A new member needs name, department and windows."""
    if not NUMBER.fullmatch(number):
        raise ValueError(f"{number!r} is not a staff number (1-12 digits)")
    p = Path(path)
    text = p.read_text(encoding="utf-8") if p.exists() else ""
    rows = tomllib.loads(text).get("staff", []) if text else []
    header_lines = []
    for line in text.splitlines():
        if line.strip().startswith("[["):
            break
        header_lines.append(line)
    row = next((r for r in rows if r.get("number") == number), None)
    new = row is None
    if new:
        missing = [k for k, v in (("--name", name), ("--department", department), ("--windows", windows)) if not v]
        if missing:
            raise ValueError(f"staff {number} is new: give {', '.join(missing)}")
        row = {"number": number}
        rows.append(row)
    if name:
        row["name"] = name
    if department:
        row["department"] = department
    if windows:
        row["windows"] = windows
    row["pin"] = hash_pin(pin)
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_text(render_staff(rows, "\n".join(header_lines)), encoding="utf-8")
    os.chmod(tmp, 0o640)
    os.replace(tmp, p)
    return new


def run(argv: list[str]) -> int:
    """`onewindow staff FILE NUMBER [--name N --department D --windows w15,w16|*]`: add a staff member or change
    their PIN (asked twice, or one line on stdin with --pin-stdin). The file is hall.toml's `[staff] file`."""
    import argparse
    import sys

    from hall_bus.configfile import ask_twice
    ap = argparse.ArgumentParser(prog="onewindow staff", description=run.__doc__)
    ap.add_argument("file", help="the staff file named by [staff] file in the hall config")
    ap.add_argument("number", help="the staff number (工号, digits: keypads enter it)")
    ap.add_argument("--name", help="full name (shown masked on the bus)")
    ap.add_argument("--department", help="a [[departments]] id of hall.toml")
    ap.add_argument("--windows", help="comma-separated window ids, or * for every window")
    ap.add_argument("--pin-stdin", action="store_true", help="read the PIN from one line of standard input")
    args = ap.parse_args(argv)
    if args.pin_stdin:
        pin = sys.stdin.readline().rstrip("\r\n")
    else:
        pin = ask_twice(f"PIN for staff {args.number} (4-12 digits): ")
        if pin is None:
            print("onewindow staff: the two PINs differ; nothing changed", file=sys.stderr)
            return 1
    if not PIN.fullmatch(pin):
        print("onewindow staff: a PIN is 4 to 12 digits; nothing changed", file=sys.stderr)
        return 1
    windows = [w.strip() for w in args.windows.split(",") if w.strip()] if args.windows else None
    try:
        new = set_staff(args.file, args.number, pin, name=args.name, department=args.department, windows=windows)
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        print(f"onewindow staff: {exc}", file=sys.stderr)
        return 1
    print(f"{args.file}: staff {args.number} {'added' if new else 'updated'}")
    return 0
