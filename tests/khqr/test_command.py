"""The real `manage.py khqr` command (needs Django settings, not the database)."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from django.core.management import CommandError, call_command

STATIC = (
    "00020101021129180014jonhsmith@nbcq5204599953031165802KH5910Jonh Smith"
    "6010Phnom Penh6304856B"
)


def test_khqr_command_encodes_json_lines_from_stdin():
    # given
    stdin = io.StringIO(
        '{"bakong_account_id": "jonhsmith@nbcq", "merchant_name": "Jonh Smith"}\n'
        '{"bakong_account_id": "", "merchant_name": "Jonh Smith"}\n'
    )
    out = io.StringIO()
    # when
    call_command("khqr", "encode", "--json", stdin=stdin, stdout=out)
    # then
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["qr"] == STATIC
    assert second["code"] == 1


def test_khqr_command_decodes_and_verifies():
    # given
    out = io.StringIO()
    # when
    call_command("khqr", "decode", STATIC, "--json", stdout=out)
    call_command("khqr", "verify", STATIC, stdout=out)
    # then
    decoded, verified = out.getvalue().splitlines()
    assert json.loads(decoded)["bakong_account_id"] == "jonhsmith@nbcq"
    assert verified == "valid"


def test_khqr_command_verify_fails_a_bad_crc_with_exit_code_one():
    # when
    with pytest.raises(CommandError) as raised:
        call_command(
            "khqr", "verify", STATIC[:-4] + "0000", "--json", stdout=io.StringIO()
        )
    # then
    assert raised.value.returncode == 1


def test_khqr_command_decodes_stdin_as_each_line_alone_decodes():
    # given: a valid code, a broken one, a blank line, CRLF
    text = STATIC + "\r\n\r\n" + STATIC[:-4] + "0000\n0002\n"
    stdin = io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8")
    out = io.StringIO()
    # when
    call_command("khqr", "decode", "--json", stdin=stdin, stdout=out)
    # then
    singly = []
    for qr in (STATIC, STATIC[:-4] + "0000", "0002"):
        one = io.StringIO()
        # a string that is not a code exits 1, its answer printed
        with contextlib.suppress(CommandError):
            call_command("khqr", "decode", qr, "--json", stdout=one)
        singly.append(one.getvalue())
    assert out.getvalue() == "".join(singly)
    assert [("error" in json.loads(x)) for x in out.getvalue().splitlines()] == [
        False,
        False,
        True,
    ]
