"""Cases (办件) through a real server subprocess on Mosquitto, with SMS to a local SMS platform over HTTP: the
case.accept round trip (request → checks → durable commit with its SMS outbox row → reply), accept → message handed
to the gateway, and a day of 3,000 cases (accepted at windows, moved on by the departments' systems, delivered)
with the books checked at the end: every consented change that sends a message has exactly one, none twice.
Prints one JSON object. Usage: .venv/bin/python bench/cases.py [--quick] [--cases N]"""
from __future__ import annotations

import argparse
import json
import random
import re
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hall_bus import BusClient  # noqa: E402
from hall_bus.contract import Op  # noqa: E402
from hall_bus.idnumber import check_digit  # noqa: E402
from hall_server.stats import summary  # noqa: E402
from tests.support.hall import HALL_CONFIG, start_hall, without_period_quotas  # noqa: E402
from tests.support.sms_platform import Platform  # noqa: E402

TIMEOUT = 10.0
WINDOW = "w1"            # 社会保障 window 1: four services, so one ticket can open up to four cases


def applicant(rng: random.Random) -> dict:
    first17 = f"510304{rng.randint(1940, 2005)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return {"name": rng.choice("张李王刘陈杨赵黄周吴") + rng.choice(["伟", "芳", "秀英", "建国", "静"]),
            "id_number": first17 + check_digit(first17)}


class Arrivals:
    """When the platform received each case's 办件确认 (by case number)."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.first_seen: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)
        self.thread.start()

    def _watch(self) -> None:
        seen = 0
        while not self.stop.wait(0.002):
            reqs = self.platform.requests
            while seen < len(reqs):
                body = json.loads(reqs[seen][1])
                seen += 1
                for word in body["text"].split("办件")[1:]:
                    number = word[:16]
                    self.first_seen.setdefault(number, time.monotonic())


def run(n_cases: int, seed: int) -> dict:
    rng = random.Random(seed)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cases-"))
    platform = Platform()
    config = tmp / "hall.toml"
    hall = re.sub(r"(?m)^daily_quota = \d+", "daily_quota = 999", HALL_CONFIG.read_text(encoding="utf-8"))  # a busy day
    hall = without_period_quotas(hall)          # no period quotas either (时段限号): ss_retire has 70 + 50
    config.write_text(hall + '\n[sms]\ngateway = "%s"\nsignature = "【大安政务】"\n' % platform.url, encoding="utf-8")
    hall = start_hall(tmp, "mosquitto", config=config)
    arrivals = Arrivals(platform)
    kiosk, panel, dept, dept_social = (hall.client(c) for c in ("kiosk-k1", f"panel-{WINDOW}", "dept-hrss",
                                                                 "dept-social"))
    services = ["ss_enroll", "ss_transfer", "ss_retire", "ss_pension_cert"]
    accept_ms: list[float] = []
    sent_at: dict[str, float] = {}
    consented: set[str] = set()
    cases: list[dict] = []
    t0 = time.monotonic()
    try:
        panel.request(Op.WINDOW_OPEN, {"window": WINDOW}, timeout=TIMEOUT)
        while len(cases) < n_cases:
            kiosk.request(Op.TICKET_ISSUE, {"service": rng.choice(services), "channel": "walk_in",
                                            "holder": {"ref": f"bench{rng.getrandbits(64):016x}"}}, timeout=TIMEOUT)
            panel.request(Op.WINDOW_CALL_NEXT, {"window": WINDOW}, timeout=TIMEOUT)
            for svc in rng.sample(services, len(services)):     # one prefix has 999 numbers a day: 4 cases a ticket
                if len(cases) >= n_cases:
                    break
                args: dict = {"window": WINDOW, "service": svc, "applicant": applicant(rng)}
                if rng.random() < 0.65:
                    args.update(phone=f"13{rng.randint(0, 9)}{rng.randint(0, 99999999):08d}", sms=True)
                asked = time.monotonic()
                start = time.perf_counter()
                case = panel.request(Op.CASE_ACCEPT, args, timeout=TIMEOUT)
                accept_ms.append((time.perf_counter() - start) * 1000)
                if case["sms"]:
                    consented.add(case["number"])
                    sent_at[case["number"]] = asked          # from the request: commit, reply, sender, HTTP
                cases.append(case)
            panel.request(Op.WINDOW_FINISH, {"window": WINDOW}, timeout=TIMEOUT)
        accept_phase_s = time.monotonic() - t0
        # the departments move every case on: 办理, 补正 and back for some, 办结, 领件 (the window hands it out)
        expected: dict[str, int] = {}
        update_ms: list[float] = []
        for case in cases:
            client = dept if case["department"] == "hrss" else dept_social
            steps = [("in_progress", {})]
            if rng.random() < 0.1:
                steps += [("needs_materials", {"missing": ["补充材料"]}), ("resumed", {})]
            steps += [("done", {"result": "approved"})]
            for change, extra in steps:
                start = time.perf_counter()
                client.request(Op.CASE_UPDATE, {"number": case["number"], "change": change, **extra}, timeout=TIMEOUT)
                update_ms.append((time.perf_counter() - start) * 1000)
            panel.request(Op.CASE_UPDATE, {"number": case["number"], "change": "delivered",
                                           "delivery": {"method": "pickup"}}, timeout=TIMEOUT)
            # consented: 办件确认 + 补正 (if any) + 领件通知 + 办结评议
            if case["number"] in consented:
                expected[case["number"]] = 3 + (1 if len(steps) > 2 else 0)
        day_s = time.monotonic() - t0
        deadline = time.monotonic() + 60
        total = sum(expected.values())
        while len(set(platform.accepted)) < total and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
    finally:
        arrivals.stop.set()
        for c in (kiosk, panel, dept, dept_social):
            c.stop()
        hall.stop()
        platform.close()

    # the books: the outbox rows per case against the changes that send one, and the platform's deliveries
    db = sqlite3.connect(hall.data / "daan.sqlite3")
    rows = db.execute("SELECT id, ref, kind, sent_at FROM sms_outbox").fetchall()
    per_case: dict[str, int] = {}
    for _id, ref, _kind, _sent in rows:
        per_case[ref] = per_case.get(ref, 0) + 1
    accepted_ids = platform.accepted
    outbox_ids = {r[0] for r in rows}
    books = {
        "cases": len(cases), "consented": len(consented),
        "messages_expected": total, "outbox_rows": len(rows),
        "cases_with_wrong_count": sum(1 for n, k in expected.items() if per_case.get(n, 0) != k)
        + sum(1 for n in per_case if n not in expected),
        "delivered": len(set(accepted_ids)), "delivered_twice": len(accepted_ids) - len(set(accepted_ids)),
        "delivered_not_in_outbox": len(set(accepted_ids) - outbox_ids),
        "unsent": sum(1 for r in rows if r[3] is None),
    }
    to_gateway = [(arrivals.first_seen[n] - sent_at[n]) * 1000 for n in sent_at if n in arrivals.first_seen]
    return {"accept_ms": summary(accept_ms), "update_ms": summary(update_ms),
            "accept_to_gateway_ms": summary(to_gateway), "accept_phase_s": round(accept_phase_s, 1),
            "day_s": round(day_s, 1), "books": books,
            "books_ok": books["cases_with_wrong_count"] == 0 and books["delivered_twice"] == 0
            and books["unsent"] == 0 and books["delivered"] == books["messages_expected"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cases", type=int, default=3000)
    ap.add_argument("--quick", action="store_true", help="300 cases")
    ap.add_argument("--seed", type=int, default=11)
    a = ap.parse_args()
    result = {"bench": "cases", "broker": "mosquitto", **run(300 if a.quick else a.cases, a.seed)}
    print(json.dumps(result, ensure_ascii=False))
    return 0 if result["books_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
