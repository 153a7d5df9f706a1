"""Role checks for pages: every merchant page is behind `member_required`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from merchants.models import Role

READ_ROLES = frozenset(Role.values)
WRITE_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT})
AUDIT_ROLES = frozenset({Role.OWNER, Role.ACCOUNTANT, Role.AUDITOR})
OWNER_ROLES = frozenset({Role.OWNER})


def member_required(
    roles: Iterable[str] = READ_ROLES,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    allowed = frozenset(roles)

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if request.merchant is None:
                return render(request, "merchants/no_merchant.html", status=403)
            if request.membership.role not in allowed:
                raise PermissionDenied("your role does not allow this page")
            return view(request, *args, **kwargs)

        wrapper.member_roles = allowed
        return wrapper

    return decorator


def has_role(request: HttpRequest, roles: Iterable[str]) -> bool:
    membership = getattr(request, "membership", None)
    return membership is not None and membership.role in frozenset(roles)
