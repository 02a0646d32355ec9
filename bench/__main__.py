"""Run the benchmarks: every ``bench/bench_<name>.py`` module's ``main()``, or the named ones.

python -m bench            # all
python -m bench engine     # only bench/bench_engine.py
python -m bench calibration --only eer   # options after the (one) name go to that benchmark's main()
"""

from __future__ import annotations

import importlib
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "agileml.settings")


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    names = sorted(p.stem.removeprefix("bench_") for p in here.glob("bench_*.py"))
    options = [a for a in argv if a.startswith("-")]
    first_option = argv.index(options[0]) if options else len(argv)
    wanted, options = argv[:first_option] or names, argv[first_option:]
    if options and len(wanted) != 1:
        print("options go to one named benchmark: python -m bench <name> --option ...", file=sys.stderr)
        return 2
    unknown = [n for n in wanted if n not in names]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in wanted:
        print(f"\n=== bench {name} ===", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"bench.bench_{name}")
        module.main(options) if options else module.main()
        print(f"=== {name} done in {time.perf_counter() - started:.1f}s ===", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
