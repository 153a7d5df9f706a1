"""A fingerprint of one engine run, to show a change to the engine's speed left
its answer alone: a SHA-256 over every match (ids, tier, rule, score, reason,
status, difference, currency), every finding and every open row with its
nearest candidates, in the order the engine returns them; and each stage's time.

The rows are the month generator's, as bench/reconcile.py makes them (seed 11),
kept in a pickle under /tmp between runs of the same size.

    PYTHONHASHSEED=0 .venv/bin/python bench/reconcile_digest.py --rows 200000
        [--stages | --profile]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import pickle
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rows(n: int) -> tuple:
    cached = Path(f"/tmp/reconcile_digest_{n}.pickle")
    if cached.exists():
        with cached.open("rb") as handle:
            return pickle.load(handle)
    from tests.reconciliation.scenario import engine_rows, month

    scenario = month(invoices=n // 3, sales=n - n // 3, seed=11)
    expected, posted = engine_rows(scenario)
    made = (scenario.settings(), expected, posted)
    with cached.open("wb") as out:
        pickle.dump(made, out, protocol=pickle.HIGHEST_PROTOCOL)
    return made


def digest(result) -> tuple[str, dict[str, str]]:
    parts = {}
    for name in ("matches", "findings", "unmatched"):
        h = hashlib.sha256()
        for row in getattr(result, name):
            h.update(repr(tuple(row)).encode())
            h.update(b"\n")
        parts[name] = h.hexdigest()[:16]
    whole = hashlib.sha256("".join(parts.values()).encode()).hexdigest()[:16]
    return whole, parts


def timed_run(settings, expected, posted) -> tuple[object, list[tuple[str, float]]]:
    """engine.reconcile, stage by stage (the same steps as engine._run)."""
    from reconciliation import engine
    from reconciliation.engine import Pool, Result, closing_findings, unmatched

    times = []
    gc.disable()
    clock = time.process_time()

    def lap(name):
        nonlocal clock
        now = time.process_time()
        times.append((name, now - clock))
        clock = now

    pool = Pool(list(expected), list(posted), settings)
    lap("pool")
    for tier in engine.TIERS:
        tier(pool)
        lap(tier.__name__)
    pool.forget()
    closing_findings(pool)
    lap("closing_findings")
    findings = tuple(
        sorted(pool.findings, key=lambda f: (f.reason, f.expected_ids, f.posted_ids))
    )
    pool.findings = []
    left_open = tuple(unmatched(pool))
    lap("unmatched")
    result = Result(
        matches=pool.hand_over_matches(), findings=findings, unmatched=left_open
    )
    lap("hand_over")
    gc.enable()
    return result, times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--stages", action="store_true")
    args = parser.parse_args()
    settings, expected, posted = rows(args.rows)
    from reconciliation.engine import reconcile

    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        result = reconcile(expected, posted, settings)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    elif args.stages:
        result, times = timed_run(settings, expected, posted)
        for name, seconds in times:
            print(f"  {name:18s} {seconds:7.3f} s")
        print(f"  {'total':18s} {sum(s for _, s in times):7.3f} s")
    else:
        cpu = time.process_time()
        result = reconcile(expected, posted, settings)
        print(f"engine {time.process_time() - cpu:.2f} s CPU")
    whole, parts = digest(result)
    print(
        f"{args.rows:,} rows: {len(result.matches):,} matches, "
        f"{len(result.findings):,} findings, {len(result.unmatched):,} open; "
        f"digest {whole} {parts}"
    )


if __name__ == "__main__":
    main()
