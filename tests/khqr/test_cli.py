"""`khqr encode | decode | verify` as pure functions (no Django)."""

from __future__ import annotations

import io
import json

from payments.khqr import cli

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
        lambda block: lines.extend(block.split("\n")),
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
        lambda block: lines.extend(block.split("\n")),
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
