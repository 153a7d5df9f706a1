"""A tiny Bakong Open API stand-in for bench/poll.py (stdlib only, no Django): the
NBC envelope, a bearer token from renew_token, check_transaction_by_md5 and the
bulk check_transaction_by_md5_list, generate_deeplink_by_qr, and a 429 switch with
Retry-After.

    python bench/bakong_standin.py PORT PAID.json   # {md5: transaction data}

POST /control {"fail429": N, "retry_after": S}: the next N calls answer 429 and
open an S-second window in which every call answers 429 again; GET /control shows
the counters (calls, calls_in_pause).
"""

from __future__ import annotations

import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"fail429": 0, "retry_after": 1, "paused_until": 0.0, "calls": 0}
STATE["calls_in_pause"] = 0
LOCK = threading.Lock()
TOKENS: set[str] = set()
PAID: dict[str, dict] = {}


def envelope(data=None, error_code=None, message="ok"):
    return {
        "responseCode": 0 if error_code is None else 1,
        "responseMessage": message,
        "errorCode": error_code,
        "data": data,
    }


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # One write per answer and no Nagle: otherwise keep-alive waits on delayed ACKs.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16

    def log_message(self, *args):  # quiet
        pass

    def answer(self, status, body, headers=None):
        raw = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self):
        with LOCK:
            self.answer(200, dict(STATE))

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"null")
        except ValueError:
            return self.answer(400, envelope(None, 5, "Missing required fields."))
        if self.path.rstrip("/").endswith("/control"):
            with LOCK:
                STATE["fail429"] = int(body.get("fail429", 0))
                STATE["retry_after"] = int(body.get("retry_after", 1))
            return self.answer(200, dict(STATE))
        endpoint = self.path.rsplit("/v1/", 1)[-1]
        now = time.monotonic()
        with LOCK:
            STATE["calls"] += 1
            if now < STATE["paused_until"]:
                STATE["calls_in_pause"] += 1
                remaining = max(1, int(STATE["paused_until"] - now + 0.999))
                limited = remaining
            elif STATE["fail429"] > 0:
                STATE["fail429"] -= 1
                STATE["paused_until"] = now + STATE["retry_after"]
                limited = STATE["retry_after"]
            else:
                limited = 0
        if limited:
            return self.answer(
                429,
                envelope(None, None, "Too many requests") | {"responseCode": 1},
                {"Retry-After": str(limited)},
            )
        if endpoint == "renew_token":
            token = secrets.token_urlsafe(24)
            TOKENS.add(token)
            return self.answer(200, envelope({"token": token}, None, "Token issued"))
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Bearer" or token not in TOKENS:
            return self.answer(401, envelope(None, 6, "Unauthorized."))
        if endpoint == "check_transaction_by_md5":
            tx = PAID.get(body.get("md5", "") if isinstance(body, dict) else "")
            if tx is None:
                return self.answer(
                    200, envelope(None, 1, "Transaction could not be found.")
                )
            return self.answer(
                200, envelope(tx, None, "Getting transaction successfully.")
            )
        if endpoint == "check_transaction_by_md5_list":
            if not isinstance(body, list) or len(body) > 50:
                return self.answer(400, envelope(None, 5, "Missing required fields."))
            items = [
                {"md5": m, "status": "SUCCESS", "message": "ok", "data": PAID[m]}
                if m in PAID
                else {
                    "md5": m,
                    "status": "NOT_FOUND",
                    "message": "not found",
                    "data": None,
                }
                for m in body
            ]
            return self.answer(200, envelope(items))
        if endpoint == "generate_deeplink_by_qr":  # for bench/scale.py's load run
            link = "https://bakong.page.link/" + secrets.token_urlsafe(8)
            return self.answer(200, envelope({"shortLink": link}))
        return self.answer(404, {"error": "no such endpoint"})


def main() -> None:
    port, paid_file = int(sys.argv[1]), sys.argv[2]
    with open(paid_file) as f:
        PAID.update(json.load(f))
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
