"""`khqr encode | decode | verify`: the command line, as pure functions.

The Django management command (payments/management/commands/khqr.py) is a thin
wrapper around ``add_arguments`` and ``run``; nothing here imports Django.

JSON numbers are read the way JavaScript reads them (so ``1.50`` is ``1.5`` and
``1.0`` is ``1``), which keeps a JSON line's answer identical to the SDK's.
"""

from __future__ import annotations

import argparse
import codecs
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import fields as dataclass_fields
from decimal import Decimal, InvalidOperation
from typing import Any

from . import decoder
from .decoder import decode, verify
from .encoder import encode
from .errors import KhqrError
from .model import KhqrFields

FIELD_NAMES = frozenset(f.name for f in dataclass_fields(KhqrFields))
# Lines answered per write: a big input goes out in blocks, not line by line.
BATCH_LINES = 1024
READ_SIZE = 1 << 16

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


_dumps = json.JSONEncoder(ensure_ascii=False, default=str).encode


def decode_json(qr: str) -> str:
    """The JSON line of ``decode_text(qr)``, byte for byte as json.dumps writes it
    (a valid code is written straight from the decoder's scan)."""
    try:
        text = decoder.decode_json(qr)
    except KhqrError as exc:
        return _dumps(exc.as_dict())
    return _dumps(decode_text(qr)) if text is None else text


def _line_batches(stream: Iterable[str]) -> Iterator[list[str]]:
    """The input's lines in batches: whatever one read of the input gave (so a
    big input is answered in blocks and a line piped alone is answered at once).
    Lines end at \\n, \\r\\n or \\r, as Python's text mode reads them."""
    read1 = getattr(getattr(stream, "buffer", None), "read1", None)
    if read1 is None:
        # Text held in memory is all there: batches; any other stream line by line.
        size = BATCH_LINES if isinstance(stream, io.StringIO) else 1
        batch: list[str] = []
        for raw in stream:
            line = raw.rstrip("\r\n")
            if line.strip():
                batch.append(line)
                if len(batch) >= size:
                    yield batch
                    batch = []
        if batch:
            yield batch
        return
    decoder = codecs.getincrementaldecoder(
        getattr(stream, "encoding", None) or "utf-8"
    )(getattr(stream, "errors", None) or "strict")
    pending = ""
    while True:
        chunk = read1(READ_SIZE)
        text = pending + decoder.decode(chunk, final=not chunk)
        if "\r" in text:
            # "\r\n" cut between two reads gives one blank line more: skipped.
            text = text.replace("\r", "\n")
        lines = text.split("\n")
        pending = lines.pop() if chunk else ""  # a line not ended yet waits
        batch = [line for line in lines if line.strip()]
        if batch:
            yield batch
        if not chunk:
            return


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
    """Run one subcommand; ``write`` takes a block of one or more lines of output,
    each ended by a newline. Returns the exit code."""
    action = options["action"]
    as_json = options.get("json", False)
    now_ms = options.get("now_ms")

    def text_of(answer: Mapping[str, Any]) -> str:
        if as_json:
            return _dumps(answer)
        if action == "encode" and "qr" in answer:
            return answer["qr"]
        return _human(answer)

    if action == "encode":
        for batch in _line_batches(stdin):
            answers = [text_of(encode_line(x, now_ms=now_ms)) for x in batch]
            write("\n".join(answers) + "\n")
        return EXIT_OK
    if action == "decode":
        if options.get("qr", "-") not in (None, "-"):
            answer = decode_text(options["qr"])
            write(text_of(answer) + "\n")
            return EXIT_FAILED if "error" in answer else EXIT_OK
        for batch in _line_batches(stdin):
            if as_json:
                answers = list(map(decode_json, batch))
                answers.append("")  # the block ends with a newline: no copy to add it
                write("\n".join(answers))
            else:
                write("".join([_human(decode_text(x)) + "\n" for x in batch]))
        return EXIT_OK
    if action == "verify":
        result = verify(options["qr"], now_ms=now_ms)
        if as_json:
            answer: dict[str, Any] = {"valid": result.valid}
            if not result.valid:
                answer |= {"error": result.reason_code, "message": result.reason}
            write(json.dumps(answer, ensure_ascii=False) + "\n")
        else:
            write("valid\n" if result.valid else f"invalid: {result.reason}\n")
        return EXIT_OK if result.valid else EXIT_FAILED
    raise ValueError(f"unknown action {action!r}")


def main(argv: list[str] | None = None) -> int:
    """`python -m payments.khqr.cli ...`: the same command without Django."""
    import sys

    parser = argparse.ArgumentParser(prog="khqr")
    add_arguments(parser)
    options = vars(parser.parse_args(argv))
    return run(options, sys.stdin, lambda block: sys.stdout.write(block))


if __name__ == "__main__":
    raise SystemExit(main())
