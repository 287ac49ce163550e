"""`python -m services up|down|status|logs [names...]` (run from tests/integration)."""

from __future__ import annotations

import argparse
import json
import sys
import time

from .process import ServiceError
from .stack import ORDER, Stack


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m services", description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status", "logs", "fetch"])
    parser.add_argument("names", nargs="*", choices=[[], *ORDER], default=[])
    args = parser.parse_args()
    names = tuple(args.names) or ORDER
    stack = Stack()
    if args.action == "fetch":
        started = time.monotonic()
        stack.prepare(names)
        print(json.dumps({k: round(v, 1) for k, v in stack.timings.items()}))
        print(f"fetched and configured in {time.monotonic() - started:.1f}s")
        return 0
    if args.action == "up":
        started = time.monotonic()
        try:
            stack.up(names)
        except ServiceError as exc:
            print(f"services-up failed: {exc}", file=sys.stderr)
            return 1
        print(f"all up in {time.monotonic() - started:.1f}s; state and logs in {stack.cfg.state}")
        env = stack.pantrypulse_env(stack.cfg.state / "pantrypulse")
        print("to point pantrypulse at them:")
        for k, v in env.items():
            print(f"  export {k}={v}")
        return 0
    if args.action == "down":
        stack.down()
        print("all down")
        return 0
    if args.action == "status":
        status = stack.status()
        for n, ok in status.items():
            print(f"{n:9s} {'up' if ok else 'down'}")
        return 0 if all(status[n] for n in names) else 1
    print(stack.logs())
    return 0


if __name__ == "__main__":
    sys.exit(main())
