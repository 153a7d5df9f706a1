"""A signed-in person's language: remembered on their UserSettings when they pick
one in the header, put in their session when they sign in (so a page costs no
query), and activated on each of their requests before the browser's
Accept-Language or the language cookie."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.views.decorators.http import require_POST
from django.views.i18n import set_language

from merchants.models import UserSettings

SESSION_LANGUAGE = "tonle_language"
_LANGUAGES = {code for code, _ in settings.LANGUAGES}


def user_language_get(*, user: Any) -> str:
    """The language the user chose, or "" when they never chose one."""
    found = UserSettings.objects.filter(user=user).values_list("language", flat=True)
    return next(iter(found), "")


def user_language_set(*, user: Any, language: str) -> None:
    if language not in _LANGUAGES:
        return
    UserSettings.objects.update_or_create(user=user, defaults={"language": language})


def remember_on_login(sender, request: HttpRequest, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LANGUAGE] = user_language_get(user=user)


@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie and redirect), and for a signed-in person the
    choice kept on their settings, for every browser they sign in from."""
    response = set_language(request)
    language = request.POST.get("language", "")
    user = getattr(request, "user", None)
    if language in _LANGUAGES and user is not None and user.is_authenticated:
        user_language_set(user=user, language=language)
        request.session[SESSION_LANGUAGE] = language
    return response


class UserLanguageMiddleware:
    """After authentication: a signed-in person's own language wins over what
    LocaleMiddleware read from the cookie or Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(SESSION_LANGUAGE)
            if language is None:  # a session from before the choice was kept
                language = user_language_get(user=user)
                request.session[SESSION_LANGUAGE] = language
            if language in _LANGUAGES:
                translation.activate(language)
                request.LANGUAGE_CODE = language
        return self.get_response(request)
