"""A scheduler process for the multi-process test: ``python -m tests.engine.sweeper URL NOW START_AT``.

It runs the scheduler's passes on a frozen clock at NOW, starting at wall time START_AT so that several
processes contend for the same work, and prints what it did as JSON."""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime


def main() -> None:
    from engine import FrozenClock, Runtime, Store, load_config
    from engine._scheduler import run_once
    from processes import build_registry

    url, now, start_at = sys.argv[1], datetime.fromisoformat(sys.argv[2]), float(sys.argv[3])
    config = load_config({"database_url": url, "data_dir": sys.argv[4]}, environ={})
    runtime = Runtime(Store(url), build_registry(), clock=FrozenClock(now), config=config)
    while time.time() < start_at:
        time.sleep(0.01)
    totals = {"timers_fired": 0, "alerts_raised": 0, "mails_sent": 0}
    for _ in range(3):
        for key, value in run_once(runtime).items():
            totals[key] += value
    runtime.close()
    print(json.dumps(totals))


if __name__ == "__main__":
    main()
