"""`khqr encode | decode | verify` as pure functions (no Django)."""

from __future__ import annotations

import io
import json
import os
import queue
import threading
from decimal import Decimal

from payments.khqr import cli, crc16

NOW = 1_767_225_600_000
STATIC = (
    "00020101021129180014jonhsmith@nbcq5204599953031165802KH5910Jonh Smith"
    "6010Phnom Penh6304856B"
)


def run(action: str, stdin: str = "", **options) -> tuple[int, list[str]]:
    lines: list[str] = []
    code = cli.run(
        {"action": action, "json": True, "now_ms": NOW, **options},
        io.StringIO(stdin),
        lambda block: lines.extend(block.removesuffix("\n").split("\n")),
    )
    return code, lines


def test_encode_answers_every_line_and_exits_zero_even_with_bad_lines():
    # given
    stdin = "\n".join(
        [
            '{"bakong_account_id": "jonhsmith@nbcq", "merchant_name": "Jonh Smith"}',
            '{"bakong_account_id": "x", "merchant_name": "Jonh Smith"}',
            "not json",
            '{"bakong_account_id": "a@b", "merchant_name": "X", "ammount": 1}',
            "",
        ]
    )
    # when
    code, lines = run("encode", stdin)
    # then
    answers = [json.loads(line) for line in lines]
    assert code == 0
    assert answers[0] == {"qr": STATIC, "md5": "cba0b1de19ac736653267fc127e08b92"}
    assert answers[1]["error"] == "BAKONG_ACCOUNT_ID_INVALID"
    assert answers[1]["message"] == "Bakong Account ID is invalid"
    assert answers[2]["error"] == "INVALID_FIELD_TYPE"
    assert answers[3] == answers[3] | {"error": "UNKNOWN_FIELD", "field": "ammount"}
    assert len(answers) == 4


def test_encode_reads_json_numbers_as_javascript_does():
    # given: 1.50 is the number 1.5 in JSON, as the SDK sees it
    stdin = (
        json.dumps(
            {
                "bakong_account_id": "a@b",
                "merchant_name": "X",
                "currency": "USD",
                "expiration_ms": NOW + 1000,
            }
        )[:-1]
        + ', "amount": 1.50}'
    )
    # when
    _, lines = run("encode", stdin)
    # then
    assert "54041.50" in json.loads(lines[0])["qr"]


def test_encode_refuses_nan_and_exponent_amounts_from_json():
    # given
    base = '{"bakong_account_id": "a@b", "merchant_name": "X", "currency": "USD", '
    base += f'"expiration_ms": {NOW + 1000}, "amount": '
    # when
    _, lines = run("encode", "\n".join(base + x + "}" for x in ("NaN", "1e21")))
    # then
    assert [json.loads(line)["code"] for line in lines] == [4, 4]


def test_decode_one_code_prints_the_fields_and_crc_valid():
    # when
    code, lines = run("decode", qr=STATIC)
    # then
    answer = json.loads(lines[0])
    assert code == 0
    assert answer["merchant_name"] == "Jonh Smith"
    assert answer["crc_valid"] is True
    assert answer["point_of_initiation"] == "static"


def test_decode_a_malformed_argument_prints_the_error_and_exits_one():
    # when
    code, lines = run("decode", qr="0002")
    # then
    assert code == 1
    assert json.loads(lines[0])["error"] == "KHQR_INVALID"


def test_decode_stdin_answers_each_line_and_exits_zero():
    # when
    code, lines = run("decode", STATIC + "\r\n0002\n", qr="-")
    # then
    assert code == 0
    assert [("error" in json.loads(line)) for line in lines] == [False, True]


def test_verify_exits_zero_for_a_valid_code_and_one_otherwise():
    # when
    good, good_lines = run("verify", qr=STATIC)
    bad, bad_lines = run("verify", qr=STATIC[:-4] + "0000")
    # then
    assert (good, json.loads(good_lines[0])) == (0, {"valid": True})
    assert bad == 1
    assert json.loads(bad_lines[0])["error"] == "KHQR_INVALID"


def test_plain_output_prints_the_code_alone():
    # when
    lines: list[str] = []
    cli.run(
        {"action": "encode", "json": False},
        io.StringIO(
            '{"bakong_account_id": "jonhsmith@nbcq", "merchant_name": "Jonh Smith"}'
        ),
        lambda block: lines.extend(block.removesuffix("\n").split("\n")),
    )
    # then
    assert lines == [STATIC]


def test_encode_takes_a_json_number_for_merchant_id_as_the_sdk_readme_does():
    # given: the SDK README's merchant example, as a JSON line
    line = json.dumps(
        {
            "type": "merchant",
            "bakong_account_id": "devit@abaa",
            "merchant_name": "devit",
            "merchant_city": "Battambang",
            "merchant_id": 1243546472,
            "acquiring_bank": "DEVBKKHPXXX",
        }
    )
    # when
    code, lines = run("encode", line + "\n" + line.replace("1243546472", "12.5"))
    # then
    first, second = (json.loads(x) for x in lines)
    assert code == 0
    assert "01101243546472" in first["qr"]
    assert second == second | {"error": "INVALID_FIELD_TYPE", "field": "merchant_id"}


def _mixed_codes() -> list[str]:
    """Valid codes of every shape the JSON writer handles apart (Khmer, an emoji,
    a quote to escape, PromptPay) and broken ones (CRC, truncated, junk)."""
    from payments.khqr import KhqrFields, encode

    def code(**fields) -> str:
        values = {"bakong_account_id": "jonhsmith@nbcq", "merchant_name": "Jonh Smith"}
        return encode(KhqrFields(**(values | fields)), now_ms=NOW).qr

    merchant = code(
        type="merchant",
        merchant_id="M1",
        acquiring_bank="Dev Bank",
        amount=Decimal("1.50"),
        currency="USD",
        expiration_ms=NOW + 60_000,
        bill_number="INV-1",
        store_label="Main",
    )
    promptpay = "00020101021129370016A0000006770101110113006681234567853037645802TH6304"
    promptpay += crc16(promptpay)
    return [
        STATIC,
        merchant,
        code(
            merchant_name="ហាងកាហ្វេ",
            language_preference="km",
            merchant_name_alternate_language="ចន",
            account_information="012345",
        ),
        code(merchant_name="Coffee \u2615 shop \U0001f600"),
        code(merchant_name='Jonh "JS" Smith'),
        promptpay,
        STATIC[:-4] + "0000",
        "0002",
        STATIC + "junk",
        merchant.replace("5802KH", "5802TH"),
    ]


def _answers_one_by_one(text: str) -> list[str]:
    """Each line on its own, as `khqr decode --json QR` prints it."""
    lines = io.StringIO(text, newline=None).read().split("\n")
    return [
        json.dumps(cli.decode_text(x), ensure_ascii=False, default=str)
        for x in lines
        if x.strip()
    ]


def test_decode_stdin_in_batches_prints_what_each_line_alone_prints(monkeypatch):
    # given: mixed codes, blank lines and every line end, read a few bytes at a
    # time (a read may cut a Khmer character or a "\r\n" in two)
    codes = _mixed_codes()
    text = "\n".join(codes[:4]) + "\r\n\r\n" + "\r".join(codes[4:]) + "\n  \n"
    monkeypatch.setattr(cli, "READ_SIZE", 7)
    stdin = io.TextIOWrapper(io.BytesIO(text.encode("utf-8")), encoding="utf-8")
    blocks: list[str] = []
    # when
    code = cli.run({"action": "decode", "json": True, "qr": "-"}, stdin, blocks.append)
    # then
    printed = "".join(blocks).removesuffix("\n").split("\n")
    assert code == 0
    assert printed == _answers_one_by_one(text)
    assert len(printed) == len(codes)
    assert [("error" in json.loads(x)) for x in printed].count(True) == 2


def test_decode_json_line_is_json_dumps_of_the_decoded_fields():
    # when / then: valid codes are written without json.dumps, byte for byte
    for qr in _mixed_codes():
        assert cli.decode_json(qr) == _answers_one_by_one(qr)[0]


def test_decode_stdin_answers_a_line_before_the_input_ends():
    # given: a program feeding codes one at a time through a pipe
    read_end, write_end = os.pipe()
    stdin = open(read_end, encoding="utf-8")  # noqa: SIM115 - closed below
    answers: queue.Queue[str] = queue.Queue()
    worker = threading.Thread(
        target=cli.run,
        args=({"action": "decode", "json": True, "qr": "-"}, stdin, answers.put),
    )
    worker.start()
    try:
        # when: one line is written and the pipe stays open
        os.write(write_end, (STATIC + "\n").encode())
        # then: its answer comes without waiting for the end of the input
        first = json.loads(answers.get(timeout=10))
        assert first["merchant_name"] == "Jonh Smith"
    finally:
        os.close(write_end)
        worker.join(timeout=10)
        stdin.close()
    assert not worker.is_alive()


def test_decode_stdin_writes_one_block_per_read_not_one_line_at_a_time():
    # given: 300 codes that arrive in one read
    text = (STATIC + "\n") * 300
    stdin = io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8")
    blocks: list[str] = []
    # when
    cli.run({"action": "decode", "json": True, "qr": "-"}, stdin, blocks.append)
    # then: one write for the lot (each write is a system call on a pipe)
    assert len(blocks) == 1
    assert blocks[0].count("\n") == 300
