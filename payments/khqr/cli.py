"""`khqr encode | decode | verify`: the command line, as pure functions.

The Django management command (payments/management/commands/khqr.py) is a thin
wrapper around ``add_arguments`` and ``run``; nothing here imports Django.

JSON numbers are read the way JavaScript reads them (so ``1.50`` is ``1.5`` and
``1.0`` is ``1``), which keeps a JSON line's answer identical to the SDK's.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import fields as dataclass_fields
from decimal import Decimal, InvalidOperation
from typing import Any

from .decoder import decode, verify
from .encoder import encode
from .errors import KhqrError
from .model import KhqrFields

FIELD_NAMES = frozenset(f.name for f in dataclass_fields(KhqrFields))

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def js_number(text: str) -> Decimal:
    """A JSON number as JavaScript would hold it: no trailing zeros, no float."""
    value = Decimal(text)
    if not value.is_finite() or value.adjusted() > 20:
        return value
    if value == value.to_integral_value():
        return Decimal(int(value))
    return value.normalize()


def _constant(name: str) -> Decimal:
    return Decimal(name)  # NaN, Infinity, -Infinity: refused by the encoder


def loads(line: str) -> Any:
    return json.loads(line, parse_float=js_number, parse_constant=_constant)


def fields_from_mapping(data: Mapping[str, Any]) -> KhqrFields:
    """KhqrFields from a JSON object of the DESIGN's snake_case KHQR fields."""
    if not isinstance(data, Mapping):
        raise KhqrError("INVALID_FIELD_TYPE", "each line must be a JSON object")
    unknown = sorted(set(data) - FIELD_NAMES)
    if unknown:
        raise KhqrError(
            "UNKNOWN_FIELD",
            f"unknown field {unknown[0]!r}; expected some of {sorted(FIELD_NAMES)}",
            field=unknown[0],
        )
    values = dict(data)
    if values.get("type") is None:
        values["type"] = "individual"
    for name in ("bakong_account_id", "merchant_name"):
        values.setdefault(name, None)
    return KhqrFields(**values)


def encode_line(line: str, *, now_ms: int | None = None) -> dict[str, Any]:
    """One JSON Lines input to its answer: {"qr", "md5"} or the error."""
    try:
        try:
            data = loads(line)
        except (ValueError, InvalidOperation) as exc:
            raise KhqrError("INVALID_FIELD_TYPE", f"not a JSON object: {exc}") from None
        result = encode(fields_from_mapping(data), now_ms=now_ms)
    except KhqrError as exc:
        return exc.as_dict()
    return {"qr": result.qr, "md5": result.md5}


def decode_text(qr: str) -> dict[str, Any]:
    try:
        return decode(qr).as_dict()
    except KhqrError as exc:
        return exc.as_dict()


def _lines(stream: Iterable[str]) -> Iterable[str]:
    for raw in stream:
        line = raw.rstrip("\r\n")
        if line.strip():
            yield line


def add_arguments(parser: argparse.ArgumentParser, **subparser_kwargs: Any) -> None:
    """Add the encode / decode / verify subcommands to ``parser``."""
    sub = parser.add_subparsers(dest="action", required=True, **subparser_kwargs)
    enc = sub.add_parser("encode", help="encode JSON Lines on stdin, one code each")
    dec = sub.add_parser("decode", help="decode QR, or each line of stdin")
    dec.add_argument("qr", nargs="?", default="-", help="the code, or - for stdin")
    ver = sub.add_parser("verify", help="exit 0 if the code is a valid KHQR")
    ver.add_argument("qr", help="the code")
    for p in (enc, dec, ver):
        p.add_argument("--json", action="store_true", help="print JSON")
        p.add_argument(
            "--now-ms", type=int, default=None, help="pin 'now' (Unix ms), for tests"
        )


def _human(answer: Mapping[str, Any]) -> str:
    if "error" in answer:
        detail = f" ({answer['detail']})" if answer.get("detail") else ""
        return f"error {answer['error']}: {answer['message']}{detail}"
    return "\n".join(f"{k}: {v}" for k, v in answer.items() if v is not None)


def run(
    options: Mapping[str, Any], stdin: Iterable[str], write: Callable[[str], None]
) -> int:
    """Run one subcommand; ``write`` takes one line of output. Returns the exit code."""
    action = options["action"]
    as_json = options.get("json", False)
    now_ms = options.get("now_ms")

    def emit(answer: Mapping[str, Any]) -> None:
        if as_json:
            write(json.dumps(answer, ensure_ascii=False, default=str))
        elif action == "encode" and "qr" in answer:
            write(answer["qr"])
        else:
            write(_human(answer))

    if action == "encode":
        for line in _lines(stdin):
            emit(encode_line(line, now_ms=now_ms))
        return EXIT_OK
    if action == "decode":
        if options.get("qr", "-") not in (None, "-"):
            answer = decode_text(options["qr"])
            emit(answer)
            return EXIT_FAILED if "error" in answer else EXIT_OK
        for line in _lines(stdin):
            emit(decode_text(line))
        return EXIT_OK
    if action == "verify":
        result = verify(options["qr"], now_ms=now_ms)
        if as_json:
            answer: dict[str, Any] = {"valid": result.valid}
            if not result.valid:
                answer |= {"error": result.reason_code, "message": result.reason}
            write(json.dumps(answer, ensure_ascii=False))
        else:
            write("valid" if result.valid else f"invalid: {result.reason}")
        return EXIT_OK if result.valid else EXIT_FAILED
    raise ValueError(f"unknown action {action!r}")


def main(argv: list[str] | None = None) -> int:
    """`python -m payments.khqr.cli ...`: the same command without Django."""
    import sys

    parser = argparse.ArgumentParser(prog="khqr")
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    return run(options, sys.stdin, lambda line: print(line, flush=False))


if __name__ == "__main__":
    raise SystemExit(main())
