"""KHQR codec throughput: Tonle against the NBC SDK (bakong-khqr) on the same inputs.

    .venv/bin/python bench/khqr.py            # Tonle and the SDK (through node)
    .venv/bin/python bench/khqr.py --no-sdk   # Tonle only

Prints encodes/s and decodes/s side by side. The inputs (a deterministic mix of
individual / merchant, static / dynamic, KHR / USD, Latin / Khmer codes) are written
to a JSON file that bench/khqr_sdk.sh hands to bench/khqr_sdk.js, which then runs
one timed round whenever asked, alternating with Tonle's rounds.
"""

from __future__ import annotations

import argparse
import json
import random
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

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000, help="distinct inputs")
    parser.add_argument("--seconds", type=float, default=1.0, help="per round")
    parser.add_argument("--rounds", type=int, default=5, help="best of this many")
    parser.add_argument("--no-sdk", action="store_true", help="skip the node SDK")
    args = parser.parse_args()

    now_ms = time.time_ns() // 1_000_000
    inputs = make_inputs(args.n, now_ms)
    fields = [to_fields(d) for d in inputs]
    codes = [encode(f).qr for f in fields]
    sdk = None
    if not args.no_sdk and shutil.which("node") and shutil.which("npm"):
        sdk = Sdk(inputs, codes, args.seconds)

    # Rounds alternate Tonle / SDK, so a busy machine slows both alike; each
    # figure is the best round (noise only ever slows a round down).
    best = {("tonle", "encode"): 0.0, ("tonle", "decode"): 0.0}
    best |= {("sdk", "encode"): 0.0, ("sdk", "decode"): 0.0}
    for _ in range(args.rounds):
        for op, fn, items in (("encode", encode, fields), ("decode", decode, codes)):
            ours = one_round(fn, items, args.seconds)
            best["tonle", op] = max(best["tonle", op], ours)
            if sdk:
                best["sdk", op] = max(best["sdk", op], sdk.round(op))
    if sdk:
        sdk.close()

    print(
        f"KHQR codec, {args.n} distinct inputs, best of {args.rounds} alternating "
        f"rounds of {args.seconds:g} s"
    )
    version = sdk.ready["sdk"] if sdk else ""
    print(f"{'':10}{'Tonle':>14}{'SDK ' + version:>24}{'ratio':>8}")
    for op in ("encode", "decode"):
        ours = best["tonle", op]
        theirs = best["sdk", op]
        ratio = f"{ours / theirs:.2f}x" if theirs else "-"
        shown = f"{theirs:,.0f}" if theirs else "-"
        print(f"{op + 's/s':10}{ours:>14,.0f}{shown:>24}{ratio:>8}")
    if sdk:
        same = sdk.ready["same_prefix"]
        print(f"same strings (creation time aside): {same}/{args.n}")


if __name__ == "__main__":
    main()
