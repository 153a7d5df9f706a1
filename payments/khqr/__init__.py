"""KHQR codec: encode, decode, verify and render NBC KHQR codes (no Django here).

The reference is the NBC's SDK (``bakong-khqr`` on npm): same input, same string,
same error, except where the SDK is wrong (see the README).
"""

from .decoder import crc16, decode, parse, verify
from .encoder import encode, text_length
from .errors import KhqrDecodeError, KhqrError
from .model import (
    DecodedKhqr,
    EncodedKhqr,
    KhqrFields,
    PromptPay,
    Tlv,
    Verification,
)

__all__ = [
    "DecodedKhqr",
    "EncodedKhqr",
    "KhqrDecodeError",
    "KhqrError",
    "KhqrFields",
    "PromptPay",
    "Tlv",
    "Verification",
    "crc16",
    "decode",
    "encode",
    "parse",
    "text_length",
    "verify",
]
