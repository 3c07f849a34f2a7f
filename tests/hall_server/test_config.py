"""The admins' hall config: the reference hall loads, and a broken file lists every problem with its key path
and bad value (in the loader and through `onewindow check-config`)."""
from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from hall_bus.configfile import ConfigError
from hall_server.config import HallConfig, load_hall_config

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = ROOT / "config" / "hall.toml"
ONEWINDOW = ROOT / ".venv" / "bin" / "onewindow"
ZONES = {"z1": "社会保障服务区", "z2": "行政审批服务区", "z3": "税务办理服务区", "z4": "公安户籍服务区",
         "z5": "非公经济服务区", "z6": "公共资源交易区"}


@pytest.fixture(scope="module")
def reference() -> HallConfig:
    return load_hall_config(REFERENCE)


@pytest.fixture(scope="module")
def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


# ---------------------------------------------------------------- the reference hall
def test_reference_hall(reference: HallConfig) -> None:
    assert reference.hall.id == "daan" and reference.hall.name == "大安区政务服务中心"
    assert reference.hall.timezone == "Asia/Shanghai"
    assert {z.id: z.name for z in reference.zones} == ZONES
    assert len(reference.services) >= 120        # issue 12: a real district hall's catalogue
    assert len(reference.windows) == 102
    assert [w.id for w in reference.windows] == [f"w{i}" for i in range(1, 103)]
    assert reference.windows_by_id["w15"].name == "15号窗口" and reference.windows_by_id["w15"].name_en == "Window 15"
    assert reference.priority.age == 70 and reference.priority.appointment is True


def test_every_zone_has_services_and_windows(reference: HallConfig) -> None:
    services = Counter(s.zone for s in reference.services)
    windows = Counter(w.zone for w in reference.windows)
    assert set(services) == set(ZONES) and set(windows) == set(ZONES)
    assert min(services.values()) >= 3


def test_services_are_complete(reference: HallConfig) -> None:
    for s in reference.services:
        assert s.name and s.name_en and s.materials and len(s.steps) == len(s.steps_en)
        assert 0 <= s.promised_days <= s.legal_days, s.id
        assert 1 <= s.daily_quota <= 999
    ids = [s.id for s in reference.services]
    assert len(ids) == len(set(ids))


def test_windows_serve_services_of_the_hall(reference: HallConfig) -> None:
    served = {sid for w in reference.windows for sid in w.services}
    assert served == set(reference.services_by_id)


def test_public_catalog_has_no_secrets(reference: HallConfig) -> None:
    catalog = reference.public_catalog().model_dump()
    assert {"hall", "zones", "services", "windows", "issuing_hours", "priority"} <= set(catalog)
    assert "broker" not in catalog and "password" not in str(catalog)
    assert "avg_service_s" not in catalog["services"][0]


# ---------------------------------------------------------------- broken files
def _variant(text: str, old: str, new: str, count: int = 1) -> str:
    assert old in text, old
    return text.replace(old, new, count)


BROKEN = {
    # name: (old, new, expected fragments of one problem line)
    "unknown zone": ('zone = "z1"\nprefix = "A"', 'zone = "z9"\nprefix = "A"',
                     ["services[ss_enroll].zone", "'z9'"]),
    "bad prefix": ('prefix = "A"', 'prefix = "a1"', ["services[ss_enroll].prefix", "'a1'"]),
    "promised > legal": ("legal_days = 20\npromised_days = 5", "legal_days = 20\npromised_days = 30",
                         ["services[ss_enroll]:", "promised_days 30", "legal_days 20"]),
    "bad time zone": ('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"', ["hall.timezone", "'Asia/Beijing'"]),
    "duplicate window id": ('id = "w2"\n', 'id = "w1"\n', ["windows[1].id", "duplicate", "'w1'"]),
    "duplicate service id": ('id = "ss_transfer"\n', 'id = "ss_enroll"\n', ["services[1].id", "duplicate", "'ss_enroll'"]),
    "hours out of order": ('hours = [["08:30", "12:00"], ["13:30", "17:00"]]',
                           'hours = [["12:00", "08:30"], ["13:30", "17:00"]]', ["issuing.hours", "12:00", "08:30"]),
    "bad clock time": ('hours = [["08:30", "12:00"], ["13:30", "17:00"]]',
                       'hours = [["08:30", "12:00"], ["13:30", "25:00"]]', ["issuing.hours[1][1]", "'25:00'"]),
    "unknown key typo": ("long_wait_s = 1800", "long_wait_sec = 1800", ["supervision.long_wait_sec", "1800"]),
    "window serves unknown service": ('services = ["pr_deposit", "pr_land"', 'services = ["pr_deposit", "pr_lnad"',
                                      ["windows[w96].services[1]", "'pr_lnad'"]),
    "wrong type": ("daily_quota = 300", 'daily_quota = "many"', ["services[ss_enroll].daily_quota", "'many'"]),
    "syntax error": ('name = "大安区政务服务中心"', 'name = "大安区政务服务中心', ["(syntax)", "line 7"]),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_file_names_key_path_and_value(tmp_path: Path, reference_text: str, case: str) -> None:
    old, new, fragments = BROKEN[case]
    path = tmp_path / "hall.toml"
    path.write_text(_variant(reference_text, old, new), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_hall_config(path)
    assert exc.value.path == str(path)
    matching = [p for p in exc.value.problems if all(f in p for f in fragments)]
    assert matching, exc.value.problems


def test_every_field_problem_is_listed_at_once(tmp_path: Path, reference_text: str) -> None:
    cases = ("bad prefix", "bad time zone", "bad clock time", "unknown key typo", "wrong type")
    text = reference_text
    for case in cases:
        old, new, _ = BROKEN[case]
        text = _variant(text, old, new)
    # services[1] = ss_transfer (ss_enroll already has field errors, so its own cross-field check cannot run)
    text = _variant(text, "legal_days = 45\npromised_days = 15", "legal_days = 45\npromised_days = 50")
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_hall_config(path)
    problems = exc.value.problems
    for case in cases:
        assert any(all(f in p for f in BROKEN[case][2]) for p in problems), (case, problems)
    assert any(p.startswith("services[ss_transfer]:") and "promised_days 50" in p for p in problems), problems
    assert len(problems) == 6


def _problems_of(tmp_path: Path, reference_text: str, cases: tuple[str, ...]) -> list[str]:
    """The problems load_hall_config lists for the reference file broken in all these BROKEN ways at once."""
    text = reference_text
    for case in cases:
        old, new, _ = BROKEN[case]
        text = _variant(text, old, new)
    path = tmp_path / "hall.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_hall_config(path)
    return exc.value.problems


def test_every_reference_problem_is_listed_at_once(tmp_path: Path, reference_text: str) -> None:
    cases = ("unknown zone", "duplicate window id", "window serves unknown service")
    problems = _problems_of(tmp_path, reference_text, cases)
    for case in cases:
        assert any(all(f in p for f in BROKEN[case][2]) for p in problems), (case, problems)
    # pr_land lost its window w96 but others still serve it: no extra "no window serves" line
    assert len(problems) == 3


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_hall_config(tmp_path / "nope.toml")
    assert exc.value.problems[0].startswith("(file)")


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "hall.toml"
    path.write_bytes('[hall]\nname = "大安"\n'.encode("gbk"))
    with pytest.raises(ConfigError) as exc:
        load_hall_config(path)
    assert "UTF-8" in exc.value.problems[0]


# ---------------------------------------------------------------- onewindow check-config
def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    exe = [str(ONEWINDOW)] if ONEWINDOW.exists() else [sys.executable, "-m", "onewindow"]
    return subprocess.run([*exe, "check-config", str(path)], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, "PYTHONIOENCODING": "utf-8"})


def test_check_config_accepts_the_reference_file() -> None:
    proc = _check_config(REFERENCE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "OK" in proc.stdout and "102 windows" in proc.stdout and "6 zones" in proc.stdout


def test_check_config_lists_every_problem_and_exits_1(tmp_path: Path, reference_text: str) -> None:
    text = reference_text
    cases = ("bad prefix", "bad time zone", "unknown key typo")
    for case in cases:
        old, new, _ = BROKEN[case]
        text = _variant(text, old, new)
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    proc = _check_config(path)
    assert proc.returncode == 1
    assert f"{path}: 3 problem(s)" in proc.stdout
    for case in cases:
        assert any(all(f in line for f in BROKEN[case][2]) for line in proc.stdout.splitlines()), (case, proc.stdout)


def test_check_config_reports_a_syntax_error(tmp_path: Path, reference_text: str) -> None:
    old, new, _ = BROKEN["syntax error"]
    path = tmp_path / "broken.toml"
    path.write_text(_variant(reference_text, old, new), encoding="utf-8")
    proc = _check_config(path)
    assert proc.returncode == 1 and "(syntax)" in proc.stdout


def test_field_and_reference_problems_are_listed_together(tmp_path: Path, reference_text: str) -> None:
    """An admin fixing the file sees everything at once, not one layer of problems per run."""
    cases = ("bad prefix", "bad time zone", "duplicate window id", "window serves unknown service")
    problems = _problems_of(tmp_path, reference_text, cases)
    for case in cases:
        assert any(all(f in p for f in BROKEN[case][2]) for p in problems), (case, problems)


# ---------------------------------------------------------------- rows named by id
def test_rows_are_named_by_their_id_and_by_index_where_they_have_none() -> None:
    from hall_bus.configfile import ConfigModel, key_path, validate
    data = {"services": [{"id": "ss_enroll", "daily_quota": 300}, {"id": "ss_transfer", "daily_quota": "many"},
                         {"daily_quota": "lots"}],
            "issuing": {"hours": [["08:30", "12:00"], ["13:30", "25:00"]]},
            "windows": [{"id": "w1"}, {"id": "w1"}, {"id": "w 3"}, {"id": 7}]}
    assert key_path(("services", 1, "daily_quota"), data) == "services[ss_transfer].daily_quota"
    assert key_path(("services", 2, "daily_quota"), data) == "services[2].daily_quota"     # no id
    assert key_path(("issuing", "hours", 1, 1), data) == "issuing.hours[1][1]"             # rows of plain values
    assert key_path(("windows", 1, "zone"), data) == "windows[1].zone"                      # id used twice
    assert key_path(("windows", 2), data) == "windows[2]"                                   # id with a space
    assert key_path(("windows", 3, "id"), data) == "windows[3].id"                          # id not a string
    assert key_path(("services", 9, "id"), data) == "services[9].id"                        # no such row
    assert key_path(("services", 1, "daily_quota")) == "services[1].daily_quota"            # no data at hand
    assert key_path(()) == "(top level)"

    class Row(ConfigModel):
        id: str = "x"
        daily_quota: int = 1

    class File(ConfigModel):
        services: list[Row]

    with pytest.raises(ConfigError) as exc:
        validate("hall.toml", {"services": data["services"]}, File)
    problems = exc.value.problems
    assert problems == ["services[ss_transfer].daily_quota: Input should be a valid integer, unable to parse string "
                        "as an integer (got 'many')",
                        "services[2].daily_quota: Input should be a valid integer, unable to parse string "
                        "as an integer (got 'lots')"]


def test_catalog_services_carry_their_pinyin_initials() -> None:
    from hall_server.config import load_hall_config, pinyin_initials
    cfg = load_hall_config(Path(__file__).resolve().parents[2] / "config" / "hall.toml")
    initials = {s.id: s.initials for s in cfg.public_catalog("2026-11-30").services}
    assert initials["ss_enroll"] == "CZZGYLBXCBDJ"              # 城镇职工养老保险参保登记
    assert pinyin_initials("CA数字证书办理") == "CASZZSBL"
    assert all(v and v.isascii() and v.isupper() for v in initials.values())


def test_a_catalog_over_the_bus_message_limit_is_refused_and_one_near_it_warned(tmp_path: Path,
                                                                                 reference_text: str) -> None:
    """Mosquitto drops a message over 64 KiB: a hall whose state/catalog would not fit is refused at load (kiosks would
    show no services), one within 10 % of the limit is warned about by check-config; the reference hall is neither."""
    from hall_bus.contract import MAX_PAYLOAD
    from hall_server.config import catalog_size, catalog_warnings
    reference = load_hall_config(ROOT / "config" / "hall.toml")
    size = catalog_size(reference)
    assert size < 0.9 * MAX_PAYLOAD and not catalog_warnings(reference)
    line = 'address = "'
    assert line in reference_text

    def with_address_padding(n: int) -> Path:
        path = tmp_path / "hall.toml"
        path.write_text(reference_text.replace(line, line + "x" * n, 1), encoding="utf-8")
        (tmp_path / "staff.toml").write_text((ROOT / "config" / "staff.toml").read_text(encoding="utf-8"),
                                             encoding="utf-8")
        return path

    near = load_hall_config(with_address_padding(int(0.95 * MAX_PAYLOAD) - size))
    assert catalog_size(near) <= MAX_PAYLOAD
    assert [w.startswith("services: state/catalog is ") and "% of the bus's 65536-byte message limit" in w
            for w in catalog_warnings(near)] == [True]
    with pytest.raises(ConfigError) as err:
        load_hall_config(with_address_padding(MAX_PAYLOAD - size + 1))
    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith(f"services: state/catalog would be {MAX_PAYLOAD + 1} bytes with "), err.value


def test_the_server_keeps_the_initials_it_computed_for_its_next_start(tmp_path: Path) -> None:
    from hall_server.config import seed_initials
    cache = tmp_path / "initials.json"
    first = load_hall_config(ROOT / "config" / "hall.toml")
    assert not seed_initials(first, cache)                      # computed with pypinyin, and kept
    again = load_hall_config(ROOT / "config" / "hall.toml")
    assert seed_initials(again, cache)                          # all there: no pypinyin
    assert again.service_initials == first.service_initials and again.service_initials["ss_enroll"] == "CZZGYLBXCBDJ"
    cache.write_text("{not json", encoding="utf-8")            # a broken cache is only slower
    third = load_hall_config(ROOT / "config" / "hall.toml")
    assert not seed_initials(third, cache) and third.service_initials == first.service_initials
