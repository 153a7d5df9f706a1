"""A scripted Bakong for httpx.MockTransport: answers per endpoint, and a log of
every request it saw (path, headers, body)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

BASE = "https://bakong.example/relay"
TX_HASH = "8465d722d7d5065f2886f0a474a4d34dc6a7855355b611836f7b6111228893e9"


def envelope(data: Any = None, *, error_code: int | None = None, message: str = ""):
    return {
        "responseCode": 0 if error_code is None else 1,
        "responseMessage": message or ("ok" if error_code is None else "failed"),
        "errorCode": error_code,
        "data": data,
    }


def tx_data(**overrides: Any) -> dict[str, Any]:
    data = {
        "hash": TX_HASH,
        "fromAccountId": "rieu_dhqj_1984@devb",
        "toAccountId": "shop_a@wing",
        "currency": "USD",
        "amount": 1.0,
        "description": "testing bakong generator",
        "createdDateMs": 1764600000000,
        "acknowledgedDateMs": 1764600001000,
        "externalRef": "EXT1",
    }
    data.update(overrides)
    return data


Answer = httpx.Response | Callable[[httpx.Request], httpx.Response]


class FakeBakong:
    """`answers[endpoint]` is a response, a callable, or a list consumed in order."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {}
        self.seen: list[httpx.Request] = []

    def on(self, endpoint: str, *answers: Answer) -> FakeBakong:
        self.answers[endpoint] = list(answers)
        return self

    def calls(self, endpoint: str) -> list[httpx.Request]:
        return [r for r in self.seen if r.url.path.endswith("/v1/" + endpoint)]

    def body(self, request: httpx.Request) -> Any:
        return json.loads(request.content)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        endpoint = request.url.path.rsplit("/v1/", 1)[-1]
        queue = self.answers.get(endpoint)
        if not queue:
            return httpx.Response(404, text="no such endpoint")
        answer = queue.pop(0) if len(queue) > 1 else queue[0]
        return answer(request) if callable(answer) else answer


def ok(data: Any = None, **kwargs: Any) -> httpx.Response:
    return httpx.Response(200, json=envelope(data, **kwargs))


def fail(error_code: int, *, status: int = 200, message: str = "") -> httpx.Response:
    return httpx.Response(
        status, json=envelope(None, error_code=error_code, message=message)
    )


def jwt(*, exp: int, iat: int) -> str:
    """A JWT-shaped token (the client never verifies the signature)."""
    import base64

    def b64(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{b64({'typ': 'JWT', 'alg': 'HS256'})}.{b64({'exp': exp, 'iat': iat})}.sig"
