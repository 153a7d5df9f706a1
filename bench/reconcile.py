"""Reconciliation benchmarks: print figures, assert nothing.

1. The engine on N expected × N posted rows (default a million each) from the
   month generator of the tests, beside a pandas pipeline of the same reference
   join plus an amount-and-date window on the same rows. Each side runs in its own
   process: its time (wall and CPU) and its peak resident memory, rows included.
   The engine runs as a reconciliation run calls it: nearest candidates are
   worked out only for the rows a one-row exception names, the only ones a run
   stores, each when asked (at a million rows that is most of the open rows:
   121,195 exceptions). The rows reach each side as `engine.build` made them,
   shared values shared (see `_Pickler`). The scenario's answer key (a million
   true pairs, which no production run holds) is kept out of the engine's peak:
   it is read from its own file after the peak is printed, to score the
   matches.
2. End to end through the database (`--db`): invoices, payment requests and
   ledger lines written to the database, then one `reconciliation_run_start`
   (load, match, save), timed, on the database DATABASE_URL names.

    .venv/bin/python bench/reconcile.py [--rows 1000000] [--db] [--db-lines 100000]
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def _resident_mb() -> int:
    """The resident set now (the peak above counts what the load freed)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") // 2**20


# The rows go to each side's process as `engine.build` made them, so that its
# "rows alone" is the rows: as many objects, as many shared. Pickle keeps one
# object per shared str and tuple, but writes each int anew (the build shares
# its amounts and days) and keeps every row's argument tuple in its memo to the
# end of the load (~290 MB at a million, half of it left free in the
# allocator). So ints travel by their place among the distinct int objects, and
# rows as columns, in chunks, made back into rows a chunk at a time.
_CHUNK = 50_000
_PLACES = 2**32


class _Pickler(pickle.Pickler):
    def __init__(self, file) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._places: dict[int, tuple[int, int]] = {}  # id -> (place, the int)

    def persistent_id(self, obj):
        if type(obj) is not int:
            return None
        place = self._places.setdefault(id(obj), (len(self._places), obj))[0]
        # one int: pickle does not keep it in its memo as it would a str (and a
        # tuple's own ints would come back here)
        return obj * _PLACES + place

    def dump_rows(self, rows: list) -> None:
        chunks = [rows[at : at + _CHUNK] for at in range(0, len(rows), _CHUNK)]
        self.dump(len(chunks))
        for chunk in chunks:
            self.dump([[row[i] for row in chunk] for i in range(len(chunk[0]))])


class _Unpickler(pickle.Unpickler):
    def __init__(self, file) -> None:
        super().__init__(file)
        self._ints: dict[int, int] = {}

    def persistent_load(self, pid):
        value, place = divmod(pid, _PLACES)
        return self._ints.setdefault(place, value)

    def load_rows(self, kind) -> list:
        rows = []
        for _ in range(self.load()):
            columns = self.load()
            rows += map(kind._make, zip(*columns, strict=True))
            for column in columns:
                column.clear()  # the memo holds the list to the end of the load
        return rows


def _child(mode: str, path: str) -> None:
    """Runs in a fresh process: generate, engine or pandas."""
    truth_path = f"{path}.truth"
    if mode == "generate":
        n = int(os.environ["BENCH_ROWS"])
        from tests.reconciliation.scenario import engine_rows, month

        scenario = month(invoices=n // 3, sales=n - n // 3, seed=11)
        expected, posted = engine_rows(scenario)
        with open(path, "wb") as out:
            pickler = _Pickler(out)
            pickler.dump(scenario.settings())
            pickler.dump_rows(expected)
            pickler.dump_rows(posted)
        with open(truth_path, "wb") as out:
            pickle.dump(scenario.truth, out, protocol=pickle.HIGHEST_PROTOCOL)
        print(f"generated {len(expected):,} expected × {len(posted):,} posted")
        return
    from reconciliation.engine import Expected, Posted

    with open(path, "rb") as handle:
        unpickler = _Unpickler(handle)
        settings = unpickler.load()
        expected = unpickler.load_rows(Expected)
        posted = unpickler.load_rows(Posted)
        del unpickler
    loaded, resident = _rss_mb(), _resident_mb()
    if mode == "engine":
        from reconciliation.engine import Result, reconcile_explaining

        # what reconciliation_run_start asks of it: the findings, the nearest
        # candidates of each row a one-row finding names, one at a time (the
        # run writes each as it is asked), then the matches
        wall, cpu = time.perf_counter(), time.process_time()
        explainer = reconcile_explaining(expected, posted, settings)
        for f in explainer.findings:
            ids = f.posted_ids or f.expected_ids
            if len(ids) == 1:
                explainer.nearest(ids[0])
        result = Result(
            matches=explainer.hand_over_matches(),
            findings=explainer.findings,
            unmatched=(),
        )
        del explainer
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        print(
            f"engine  {wall:6.2f} s wall, {cpu:6.2f} s CPU, "
            f"{(len(expected) + len(posted)) / wall:,.0f} rows/s; "
            f"peak {_rss_mb():,} MB (rows alone {loaded:,} MB, {resident:,} MB "
            "resident once loaded; the answer key is read after this peak)",
            flush=True,
        )
        with open(truth_path, "rb") as handle:
            truth = pickle.load(handle)
        auto = {
            (e, p)
            for m in result.matches
            if m.status == "auto"
            for e in m.expected_ids
            for p in m.posted_ids
        }
        every = {
            (e, p) for m in result.matches for e in m.expected_ids for p in m.posted_ids
        }
        counts = result.counts()
        print(
            f"        {len(result.matches):,} matches "
            f"({counts.get('auto', 0):,} auto, {counts.get('proposed', 0):,} proposed)"
            f", {len(result.findings):,} exceptions; automatic pairs correct "
            f"{len(auto & truth) / max(1, len(auto)):.4%}, true pairs found "
            f"{len(every & truth) / max(1, len(truth)):.4%}"
        )
    elif mode == "pandas":
        import pandas as pd

        frame_e = pd.DataFrame(
            {
                "eid": [e.id for e in expected],
                "key": [e.ref_keys[0] if e.ref_keys else "" for e in expected],
                "cur": [e.currency for e in expected],
                "amt": [e.amount_minor for e in expected],
                "lo": [e.date_from for e in expected],
                "hi": [e.date_to + 7 for e in expected],
            }
        )
        frame_p = pd.DataFrame(
            {
                "pid": [p.id for p in posted],
                "text": [p.ref_text for p in posted],
                "cur": [p.currency for p in posted],
                "amt": [p.amount_minor for p in posted],
                "day": [p.day for p in posted],
            }
        )
        del expected, posted
        wall, cpu = time.perf_counter(), time.process_time()
        joined, window = _pandas_pipeline(pd, frame_e, frame_p)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        rows = len(frame_e) + len(frame_p)
        print(
            f"pandas  {wall:6.2f} s wall, {cpu:6.2f} s CPU, {rows / wall:,.0f} rows/s;"
            f" peak {_rss_mb():,} MB (rows alone {loaded:,} MB); "
            f"{joined:,} reference pairs, {window:,} amount-and-date pairs"
        )


def _pandas_pipeline(pd, frame_e, frame_p) -> tuple[int, int]:
    """The anchor: normalise references, join them to the words of the lines'
    text with equal amount and currency, then pair what is left on amount and
    currency with the nearest earlier item inside its window (merge_asof)."""
    glue, zeros = r"[-_./ ]", r"(?<![0-9])0+(?=[0-9])"
    keys = (
        frame_e["key"]
        .str.upper()
        .str.replace(zeros, "", regex=True)
        .str.replace(glue, "", regex=True)
    )
    frame_e = frame_e.assign(k=keys)
    words = (
        frame_p["text"]
        .str.upper()
        .str.replace(zeros, "", regex=True)
        .str.replace(r"[-_./]", "", regex=True)
        .str.findall(r"[A-Z]*\d+[A-Z0-9]*")
        .explode()
        .dropna()
    )
    tokens = pd.DataFrame(
        {"pid": frame_p["pid"].loc[words.index].to_numpy(), "k": words.to_numpy()}
    )
    joined = tokens.merge(frame_e[["eid", "k", "cur", "amt"]], on="k").merge(
        frame_p[["pid", "cur", "amt"]], on=["pid", "cur", "amt"]
    )
    rest_p = frame_p[~frame_p["pid"].isin(joined["pid"])].sort_values("day")
    rest_e = frame_e[~frame_e["eid"].isin(joined["eid"])].sort_values("lo")
    window = pd.merge_asof(
        rest_p,
        rest_e[["eid", "cur", "amt", "lo", "hi"]],
        left_on="day",
        right_on="lo",
        by=["cur", "amt"],
        direction="backward",
        tolerance=40,
    )
    window = window[window["eid"].notna() & (window["day"] <= window["hi"])]
    return len(joined), len(window)


def _run(mode: str, path: str, rows: int) -> None:
    env = os.environ | {"BENCH_ROWS": str(rows), "PYTHONHASHSEED": "0"}
    subprocess.run(
        [sys.executable, __file__, "--child", mode, path], check=True, env=env
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--db", action="store_true", help="also end to end")
    parser.add_argument("--db-lines", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        _child(*args.child)
        return
    print(f"== engine against pandas, {args.rows:,} × {args.rows:,} rows")
    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "rows.pickle")
        _run("generate", path, args.rows)
        _run("engine", path, args.rows)
        _run("pandas", path, args.rows)
    if args.db:
        from bench.reconcile_db import main as db_main

        db_main(lines=args.db_lines)


if __name__ == "__main__":
    main()
