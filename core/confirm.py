"""Destructive actions ask first. The page's button carries `data-confirm`, and
tonle.js asks in a dialog and posts `confirmed=yes`; a POST without it (no
JavaScript, an old tab, a replayed form) gets a page asking the same question, whose
button posts the same fields again with the confirmation."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

CONFIRMED_FIELD = "confirmed"
_NOT_REPOSTED = {"csrfmiddlewaretoken", CONFIRMED_FIELD}


def is_confirmed(request: HttpRequest) -> bool:
    return request.POST.get(CONFIRMED_FIELD) == "yes"


def confirmation_page(
    request: HttpRequest, *, question: str, button: str, back: str, detail: str = ""
) -> HttpResponse:
    """The question on a page of its own: confirm (the same POST, confirmed) or go
    back."""
    fields = [
        (name, value)
        for name in request.POST
        if name not in _NOT_REPOSTED
        for value in request.POST.getlist(name)
    ]
    return render(
        request,
        "confirm.html",
        {
            "question": question,
            "detail": detail,
            "button": button,
            "back": back,
            "fields": fields,
            "action": request.path,
        },
    )
