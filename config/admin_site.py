"""The Django admin behind Tonle's own sign-in: one login page (throttled by axes,
with the two-factor step), and a staff user with a confirmed two-factor device is
let in only once that device has been verified in this session."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device


class TonleAdminSite(admin.AdminSite):
    site_header = _("Tonle administration")
    site_title = _("Tonle admin")

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        user = request.user
        return user.is_verified() or not user_has_device(user, confirmed=True)

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """The admin's own form would skip the two-factor step: use Tonle's."""
        return redirect_to_login(request.GET.get("next") or self.index_url())

    def index_url(self) -> str:
        return reverse("admin:index", current_app=self.name)
