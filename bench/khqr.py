"""KHQR codec throughput: Tonle against the NBC SDK (bakong-khqr) on the same inputs.

    .venv/bin/python bench/khqr.py            # Tonle and the SDK (through node)
    .venv/bin/python bench/khqr.py --no-sdk   # Tonle only

Prints, on the same 50,000 codes (``--n``):

- encodes/s and decodes/s of the library (Tonle's ``encode`` / ``decode`` in this
  process; the SDK's in node, warmed up);
- decodes/s through the command: ``python manage.py khqr decode --json`` reading
  the codes on stdin and writing one JSON line each, timed from start to exit
  (start-up included), beside the SDK behind the same kind of command
  (bench/khqr_sdk_decode.js: node, stdin to JSON lines). The seconds, the CPU
  seconds (less sensitive to other load on the machine) and the start-up alone
  (an empty stdin) are printed too.

The inputs (a deterministic mix of individual / merchant, static / dynamic, KHR /
USD, Latin / Khmer codes) are written to a JSON file that bench/khqr_sdk.sh hands to
bench/khqr_sdk.js, which then runs one timed round whenever asked. Every round
alternates Tonle and the SDK, so a busy machine slows both alike; each figure is
the best round (noise only ever slows a round down).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from payments.khqr import KhqrFields, decode, encode  # noqa: E402

KHMER = "កខគឃងចឆជឈញដឋឌឍណតថទធនបផពភមយរលវសហឡអាិីុូេែោៅំះ្"


def make_inputs(n: int, now_ms: int) -> list[dict]:
    rng = random.Random(42)
    out = []
    for i in range(n):
        merchant = i % 2 == 1
        fields: dict = {
            "type": "merchant" if merchant else "individual",
            "bakong_account_id": f"shop{i}@aclb",
            "merchant_name": f"Coffee Shop {i}",
            "merchant_city": "Phnom Penh",
            "currency": "USD" if i % 3 == 0 else "KHR",
        }
        if merchant:
            fields |= {"merchant_id": f"M{i:06d}", "acquiring_bank": "ACLEDA Bank"}
        if i % 4 != 3:  # three in four dynamic, as at a till
            if fields["currency"] == "USD":
                fields["amount"] = f"{rng.randint(1, 50000) / 100:.2f}"
            else:
                fields["amount"] = str(rng.randint(1, 400) * 100)
            fields["expiration_ms"] = now_ms + 86_400_000
        if i % 2 == 0:
            fields["bill_number"] = f"INV-{i:08d}"
            fields["store_label"] = "Main"
        if i % 5 == 0:
            fields |= {
                "language_preference": "km",
                "merchant_name_alternate_language": "".join(
                    rng.choice(KHMER) for _ in range(12)
                ),
                "merchant_city_alternate_language": "ភ្នំពេញ",
            }
        out.append(fields)
    return out


def to_fields(data: dict) -> KhqrFields:
    data = dict(data)
    if "amount" in data:
        data["amount"] = Decimal(data["amount"])
    return KhqrFields(**data)


def one_round(fn, items, seconds: float) -> float:
    done = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for item in items:
            fn(item)
        done += len(items)
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - start)


class Sdk:
    """The SDK in node, answering one timed round per request (khqr_sdk.js)."""

    def __init__(self, inputs: list[dict], codes: list[str], seconds: float) -> None:
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
            json.dump({"inputs": inputs, "codes": codes, "seconds": seconds}, fh)
        self.path = Path(fh.name)
        self.process = subprocess.Popen(
            ["sh", str(ROOT / "bench" / "khqr_sdk.sh"), fh.name, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = json.loads(self.process.stdout.readline())

    def round(self, op: str) -> float:
        self.process.stdin.write(op + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())["per_s"]

    def command(self) -> list[str]:
        """The SDK as a command: stdin codes to JSON lines (khqr_sdk_decode.js)."""
        return ["node", str(ROOT / "bench" / "khqr_sdk_decode.js")]

    def env(self) -> dict[str, str]:
        return {**os.environ, "SDK_DIR": self.ready["sdk_dir"]}

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.path.unlink()


TONLE_COMMAND = [sys.executable, str(ROOT / "manage.py"), "khqr", "decode", "--json"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_command(
    argv: list[str], stdin_path: Path, out_path: Path, env: dict | None = None
) -> tuple[float, float, int]:
    """Seconds from start to exit of `argv < stdin_path > out_path`, the CPU
    seconds it used, and the lines it wrote."""
    with stdin_path.open("rb") as stdin, out_path.open("wb") as stdout:
        cpu = _children_cpu()
        start = time.perf_counter()
        subprocess.run(argv, stdin=stdin, stdout=stdout, check=True, env=env, cwd=ROOT)
        seconds = time.perf_counter() - start
        cpu = _children_cpu() - cpu
    with out_path.open("rb") as fh:
        return seconds, cpu, sum(1 for _ in fh)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50_000, help="distinct inputs")
    parser.add_argument("--seconds", type=float, default=1.0, help="per round")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many")
    parser.add_argument("--no-sdk", action="store_true", help="skip the node SDK")
    parser.add_argument(
        "--no-command", action="store_true", help="skip the command rounds"
    )
    args = parser.parse_args()

    now_ms = time.time_ns() // 1_000_000
    inputs = make_inputs(args.n, now_ms)
    fields = [to_fields(d) for d in inputs]
    codes = [encode(f).qr for f in fields]
    sdk = None
    if not args.no_sdk and shutil.which("node") and shutil.which("npm"):
        sdk = Sdk(inputs, codes, args.seconds)
    work = Path(tempfile.mkdtemp(prefix="khqr-bench-"))
    codes_path = work / "codes.txt"
    codes_path.write_text("\n".join(codes) + "\n", encoding="utf-8")
    empty_path = work / "empty.txt"
    empty_path.write_text("", encoding="utf-8")
    out_path = work / "out.jsonl"

    # Rounds alternate Tonle / SDK, so a busy machine slows both alike; each
    # figure is the best round (noise only ever slows a round down).
    best: dict[tuple[str, str], float] = {}
    fastest: dict[tuple[str, str], float] = {}

    def keep(side: str, op: str, per_s: float) -> None:
        best[side, op] = max(best.get((side, op), 0.0), per_s)

    def keep_time(side: str, what: str, seconds: float) -> None:
        fastest[side, what] = min(fastest.get((side, what), 1e9), seconds)

    sides = [("tonle", TONLE_COMMAND, None)]
    if sdk:
        sides.append(("sdk", sdk.command(), sdk.env()))
    for _ in range(args.rounds):
        for op, fn, items in (("encode", encode, fields), ("decode", decode, codes)):
            keep("tonle", op, one_round(fn, items, args.seconds))
            if sdk:
                keep("sdk", op, sdk.round(op))
        if args.no_command:
            continue
        for side, argv, env in sides:
            seconds, cpu, lines = run_command(argv, codes_path, out_path, env)
            if lines != len(codes):
                raise SystemExit(f"{side}: {lines} lines out for {len(codes)} codes")
            keep(side, "command", len(codes) / seconds)
            keep_time(side, "command", seconds)
            keep_time(side, "command cpu", cpu)
            seconds, cpu, _ = run_command(argv, empty_path, out_path, env)
            keep_time(side, "start-up", seconds)
            keep_time(side, "start-up cpu", cpu)
    if sdk:
        sdk.close()
    shutil.rmtree(work)

    print(
        f"KHQR codec, {args.n:,} distinct codes, best of {args.rounds} alternating "
        f"rounds"
    )
    version = sdk.ready["sdk"] if sdk else ""
    print(f"{'':28}{'Tonle':>12}{'SDK ' + version:>16}{'ratio':>8}")
    rows = [
        ("encodes/s (library)", "encode"),
        ("decodes/s (library)", "decode"),
    ]
    if not args.no_command:
        rows.append(("decodes/s (command, stdin)", "command"))
    for label, op in rows:
        ours = best.get(("tonle", op), 0.0)
        theirs = best.get(("sdk", op), 0.0)
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        shown = f"{theirs:,.0f}" if theirs else "-"
        print(f"{label:28}{ours:>12,.0f}{shown:>16}{ratio:>8}")
    if not args.no_command:
        labels = {
            "command": f"  {args.n:,} codes (s)",
            "command cpu": "    CPU (s)",
            "start-up": "  start-up, no input (s)",
            "start-up cpu": "    CPU (s)",
        }
        for what, label in labels.items():
            ours = fastest["tonle", what]
            theirs = fastest.get(("sdk", what))
            shown = f"{theirs:.2f}" if theirs else "-"
            print(f"{label:28}{ours:>12.2f}{shown:>16}")
        print(
            "  the command: python manage.py khqr decode --json < codes > out "
            "(the SDK: node bench/khqr_sdk_decode.js), start to exit"
        )
    if sdk:
        same = sdk.ready["same_prefix"]
        print(f"same strings (creation time aside): {same:,}/{args.n:,}")


if __name__ == "__main__":
    main()
