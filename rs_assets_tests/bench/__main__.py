"""`make bench`: run every `bench_*.py` module's `main()` in turn (pass `--quick` for small sizes)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import rs_assets_tests.bench as bench


def main() -> int:
    only = [a for a in sys.argv[1:] if not a.startswith("-")]
    flags = [a for a in sys.argv[1:] if a.startswith("-")]
    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    for name in names:
        if only and not any(o in name for o in only):
            continue
        print(f"\n=== {name} ===", flush=True)
        started = time.monotonic()
        sys.argv = [name, *flags]  # each bench parses its own flags
        importlib.import_module(f"rs_assets_tests.bench.{name}").main()
        print(f"--- {name}: {time.monotonic() - started:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
