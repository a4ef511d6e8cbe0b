"""`make bench`: answer quality of config.yml, the previous configuration and Rasa's untuned
default, side by side; then the speed of each (this project's measured in full); then
docs/benchmarks.md with its plots. `--smoke` is the test suite's quick version: no training, a few
messages, this project's model only, and the report written under --out instead of docs/.

Usage: python -m bench [--smoke] [--out results/bench]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from bench import quality, report, speed

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "results" / "bench")
    parser.add_argument("--smoke", action="store_true", help="a quick run for the test suite")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    smoke = ["--smoke"] if args.smoke else []

    status = quality.main(["--out", str(args.out), *smoke])
    if status:
        return status
    for name in ("tuned", "previous", "baseline"):
        trained = args.out / "models" / f"{name}.tar.gz"
        if args.smoke:
            if name != "tuned":
                continue
            trained = speed.DEFAULT_MODEL
        plan = "smoke" if args.smoke else "full" if name == "tuned" else "compare"
        output = "speed" if name == "tuned" else f"speed-{name}"
        status = speed.main(
            ["--out", str(args.out), "--model", str(trained), "--plan", plan, "--name", output]
        )
        if status:
            return status

    docs = args.out if args.smoke else PROJECT_ROOT / "docs"
    command = "python -m bench --smoke" if args.smoke else "make bench"
    written = report.write(args.out, docs, command, time.perf_counter() - started)
    print(
        f"\n{written.read_text()}\n==> Report: {written} ({(time.perf_counter() - started) / 60:.1f} minutes)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
