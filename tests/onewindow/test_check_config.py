"""`onewindow check-config`: each kind of file is checked against its own schema (hall, kiosk, display, devices),
told by the file's name, else by its tables, else by --kind; every problem is listed with its key path."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from onewindow.check_config import KINDS, run
from tests.support.hall import ROOT

CONFIG = ROOT / "config"
SHIPPED = {"hall": CONFIG / "hall.toml", "kiosk": CONFIG / "kiosk.toml", "display": CONFIG / "display.toml",
           "devices": CONFIG / "devices.toml", "panel": CONFIG / "panel.toml",
           "web": CONFIG / "web.toml", "console": CONFIG / "console.toml", "staff": CONFIG / "staff.toml"}

# kind -> (replacements that break the shipped file, a pattern per problem the admin must see)
BROKEN: dict[str, tuple[list[tuple[str, str]], list[str]]] = {
    "hall": ([('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'), ('prefix = "A"', 'prefix = "a1"')],
             [r"^hall\.timezone: .*Mars/Olympus", r"^services\[\w+\]\.prefix: .*'a1'"]),
    "kiosk": ([("paper_mm = 80", "paper_mm = 57"), ("idle_timeout_s = 45 ", "idle_timeout_s = -1 "),
               ('orientation = "portrait"', 'orientaton = "portrait"')],
              [r"^printer\.paper_mm: .*57", r"^idle_timeout_s: .*-1", r"^orientaton: Extra inputs"]),
    "display": ([('orientation = "landscape"', 'orientation = "sideways"'), ("repeat = 2", "repeat = 9")],
                [r"^orientation: .*'sideways'", r"^voice\.repeat: .*9"]),
    "devices": ([('bus = "keypads"\naddr = 1', 'bus = "keypads"\naddr = 0'), ('kind = "bus7e"', 'kind = "rs485"')],
                [r"^keypads\[[\w-]+\]\.addr: .*greater than or equal to 1", r"^buses\.line1\.kind: .*'rs485'"]),
    "panel": ([('window = "w15"', 'window = "w 15"'), ('language = "zh"', 'language = "fr"')],
              [r"^window: ", r"^language: .*'fr'"]),
    # a literal key in a public node's file, and a bad listen address
    "web": ([('hmac_key = "env:ONEWINDOW_ID_HMAC_KEY"', 'hmac_key = "s3cret-in-the-file"'),
             ('listen = "127.0.0.1:8080"', 'listen = "127.0.0.1:80800"')],
            [r"^listen: .*80800", r"^hmac_key: .*env:NAME"]),
    # a literal session secret in the console's file, and sessions that would end before a page loads
    "console": ([('session_secret = "env:ONEWINDOW_CONSOLE_SECRET"', 'session_secret = "hunter2hunter2hunter2"'),
                 ("session_idle_s = 1800", "session_idle_s = 10")],
                [r"^session_secret: .*env:NAME", r"^session_idle_s: .*10"]),
    # an SMS template that needs a second segment with this hall's longest values (its longest service name, case
    # numbers, the rating link), the carrier signature included; a gateway of no known form
    "hall sms": ([("[appointments]\n", '[sms]\ngateway = "ftp://sms.example"\nsignature = "【大安政务】"\n'
                  '[sms.templates]\ncase_accepted = "您在大安区政务服务中心申请的{service}已受理，办件编号{number}，'
                  '查询码{query_code}。"\n\n[appointments]\n')],
                 [r"^sms\.gateway: "]),
    "hall sms length": ([("[appointments]\n", '[sms]\ngateway = "http://sms.example/api"\nsignature = "【大安政务】"'
                          '\n[sms.templates]\ncase_accepted = "您在大安区政务服务中心申请的{service}已受理，办件编号'
                          '{number}，查询码{query_code}。"\n\n[appointments]\n')],
                        [r"^sms\.templates\.case_accepted: \d+ UCS-2 units with the longest values \(limit 70"]),
    # a staff number given twice and a PIN written in clear instead of its argon2 hash (checked with or without the
    # hall file beside it)
    "staff": ([('number = "1002"', 'number = "1001"'), ('pin = "$argon2id$v=19$m=19456,t=2,p=1$o6lT', 'pin = "1234"#')],
              [r"^staff\[1001\]\.number: 1001 appears twice", r"^staff\[1015\]\.pin: not an argon2 hash"]),
    # a window the hall does not have, found against the hall.toml beside the file that names it
    "staff references": ([('windows = ["w15", "w16"]', 'windows = ["w999"]')],
                         [r"^staff\[1015\]\.windows\[0\]: no window 'w999'"]),
    # cross-references between the sections of one file
    "devices references": ([('bus = "keypads"\naddr = 1', 'bus = "keypad"\naddr = 1'), ("addr = 12", "addr = 11")],
                           [r"^keypads\[[\w-]+\]\.bus: no bus 'keypad'", r"^evaluators\[[\w-]+\]\.addr: 11 on bus 'line1' "
                            r"is already 'eval-w1'"]),
}


def check(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, list[str], str]:
    code = run([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out.splitlines(), out.err


def broken_copy(tmp_path: Path, case: str, name: str | None = None) -> Path:
    kind = case.split()[0]
    text = SHIPPED[kind].read_text(encoding="utf-8")
    for old, new in BROKEN[case][0]:
        assert old in text, (kind, old)
        text = text.replace(old, new, 1)
    path = tmp_path / (name or f"{kind}.toml")
    path.write_text(text, encoding="utf-8")
    _staff_beside(tmp_path, kind)
    return path


def _staff_beside(tmp_path: Path, kind: str) -> None:
    """A copy of the hall file finds its staff file ([staff] file = "staff.toml") beside it; a copy of the staff file
    the hall file that names it."""
    other = {"hall": "staff.toml", "staff": "hall.toml"}.get(kind)
    if other:
        (tmp_path / other).write_text((CONFIG / other).read_text(encoding="utf-8"), encoding="utf-8")


def test_every_kind_has_a_shipped_file() -> None:
    assert set(SHIPPED) == set(KINDS)


@pytest.mark.parametrize("kind", SHIPPED)
def test_the_shipped_files_pass_and_say_what_they_were_checked_as(capsys, kind: str) -> None:
    code, out, _err = check(capsys, SHIPPED[kind])
    assert code == 0, out
    assert out[0].startswith(f"{SHIPPED[kind]}: OK ({kind} config) — "), out


@pytest.mark.parametrize("case", BROKEN)
def test_a_broken_file_lists_every_problem_against_its_own_schema(tmp_path, capsys, case: str) -> None:
    path = broken_copy(tmp_path, case)
    kind = case.split()[0]
    code, out, _err = check(capsys, path)
    patterns = BROKEN[case][1]
    assert code == 1
    assert out[0] == f"{path}: {len(patterns)} problem(s) as a {kind} config", out
    problems = [line.strip() for line in out[1:]]
    for pattern in patterns:
        assert any(re.search(pattern, p) for p in problems), (pattern, problems)


@pytest.mark.parametrize("kind", SHIPPED)
def test_a_file_not_named_after_its_kind_is_told_by_its_tables(tmp_path, capsys, kind: str) -> None:
    path = tmp_path / "terminal-3.toml"
    path.write_text(SHIPPED[kind].read_text(encoding="utf-8"), encoding="utf-8")
    _staff_beside(tmp_path, kind)
    code, out, _err = check(capsys, path)
    assert code == 0 and f"OK ({kind} config)" in out[0], out
    code, out, _err = check(capsys, broken_copy(tmp_path, kind, "terminal-4.toml"))
    assert code == 1 and out[0].endswith(f"problem(s) as a {kind} config"), out


def test_a_copy_named_like_a_role_is_checked_as_that_role_with_a_hint_and_kind_overrides(tmp_path, capsys) -> None:
    path = tmp_path / "kiosk-2.toml"
    path.write_text(SHIPPED["display"].read_text(encoding="utf-8"), encoding="utf-8")
    code, out, _err = check(capsys, path)
    assert code == 1
    assert out[0].endswith("as a kiosk config (its tables look like a display config: --kind display checks it "
                           "as one)"), out
    code, out, _err = check(capsys, path, "--kind", "display")
    assert code == 0 and "OK (display config)" in out[0], out


def test_a_kiosk_file_is_not_checked_against_the_hall_schema(capsys) -> None:
    """The old check-config reported 19 'problems' for a good kiosk.toml; --kind hall still can."""
    code, out, _err = check(capsys, SHIPPED["kiosk"], "--kind", "hall")
    assert code == 1 and "as a hall config" in out[0]
    assert check(capsys, SHIPPED["kiosk"])[0] == 0


def test_an_unrecognisable_file_is_refused_naming_the_kinds(tmp_path, capsys) -> None:
    path = tmp_path / "settings.toml"
    path.write_text('colour = "blue"\n', encoding="utf-8")
    code, out, err = check(capsys, path)
    assert code == 2 and not out
    assert "cannot tell which kind of config" in err and "--kind" in err
    for kind in KINDS:
        assert re.search(rf"^  {kind} ", err, re.M), err


def test_a_syntax_error_in_an_unnamed_file_is_reported_as_such(tmp_path, capsys) -> None:
    path = tmp_path / "settings.toml"
    path.write_text("[printer\nurl = 1\n", encoding="utf-8")
    code, out, _err = check(capsys, path)
    assert code == 1 and "(syntax)" in out[1], out


def test_checking_any_kind_loads_no_qt_and_a_role_file_loads_no_server() -> None:
    """check-config runs on a server or a controller box without Qt; a kiosk's file loads only the kiosk's model."""
    code = ("import json, sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] == 'PySide6': raise ImportError('no Qt here')\n"
            "sys.meta_path.insert(0, Block())\n"
            "from onewindow.check_config import run\n"
            "codes = {}\n"
            "for kind in ('kiosk', 'display', 'devices', 'hall'):\n"
            "    codes[kind] = [run([f'config/{kind}.toml']), 'hall_server' in sys.modules]\n"
            "print(json.dumps(codes))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    codes = json.loads(out.stdout.splitlines()[-1])
    assert codes == {"kiosk": [0, False], "display": [0, False], "devices": [0, False], "hall": [0, True]}, codes


def test_the_hall_check_lists_staff_file_problems_with_key_paths(tmp_path, capsys) -> None:
    path = tmp_path / "hall.toml"
    path.write_text(SHIPPED["hall"].read_text(encoding="utf-8"), encoding="utf-8")
    _staff_beside(tmp_path, "hall")
    staff = tmp_path / "staff.toml"
    staff.write_text(staff.read_text(encoding="utf-8").replace('windows = ["w15", "w16"]', 'windows = ["w999"]', 1),
                     encoding="utf-8")
    code, out, _err = check(capsys, path)
    assert code == 1 and any("staff[1015].windows[0]: no window 'w999'" in line for line in out), out
    staff.unlink()
    code, out, _err = check(capsys, path)
    assert code == 1 and any("staff.file:" in line and "not found" in line for line in out), out


def test_a_staff_file_is_checked_against_the_hall_file_that_names_it(tmp_path, capsys) -> None:
    code, out, _err = check(capsys, SHIPPED["staff"])
    assert code == 0 and out[0].endswith(f"24 staff members, PINs as argon2 hashes, windows and departments checked "
                                         f"against {CONFIG / 'hall.toml'}"), out
    alone = tmp_path / "staff.toml"          # no hall.toml beside it: its rows are checked, their references cannot be
    alone.write_text(SHIPPED["staff"].read_text(encoding="utf-8").replace('"w15", "w16"', '"w999"', 1), encoding="utf-8")
    code, out, _err = check(capsys, alone)
    assert code == 0 and out[0].endswith("windows and departments not checked (no hall.toml beside it names this "
                                         "file)"), out
