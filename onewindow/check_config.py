"""`onewindow check-config PATH`: validate a config file before a role is (re)started with it."""
from __future__ import annotations

import argparse
from pathlib import Path

from hall_bus.configfile import ConfigError


def run(argv: list[str]) -> int:
    from hall_server.config import load_hall_config
    from hall_server.main import broker_logins

    p = argparse.ArgumentParser(prog="onewindow check-config", description="Validate a hall config file.")
    p.add_argument("path")
    args = p.parse_args(argv)
    try:
        cfg = load_hall_config(args.path)
    except ConfigError as err:
        print(err)          # path, count, then one line per problem with its key path
        return 1
    logins, problems = broker_logins(cfg, Path(args.path))
    if problems:
        print(f"{args.path}: {len(problems)} problem(s) in the broker password file:")
        print("\n".join(f"  - broker.password_file: {p}" for p in problems))
        return 1
    print(f"{args.path}: OK — hall {cfg.hall.id} ({cfg.hall.name}), {len(cfg.zones)} zones, "
          f"{len(cfg.services)} services, {len(cfg.windows)} windows"
          + (f", broker logins for {len(logins)} clients" if cfg.broker.password_file else ""))
    return 0
