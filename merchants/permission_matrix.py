"""Who may use each route, read from the code itself: a page's roles from its
`member_required` decorator, an API route's scope from its view's
`required_scope`, and the few other routes (sign-in, the admin, incoming webhooks,
the sandbox) from the table below. `manage.py permission_matrix` writes it as
Markdown (docs/permissions.md); a test keeps that file, the code and the answers
the routes really give in agreement, and fails on a route nobody classified."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern, URLResolver

from merchants.api.authentication import UNDECLARED
from merchants.api.base import MerchantApiView
from merchants.models import Role

ROLE_COLUMNS = [Role.VIEWER, Role.AUDITOR, Role.ACCOUNTANT, Role.OWNER]

PUBLIC = "public"
SIGNED_IN = "signed-in"
STAFF = "staff"
SIGNED_REQUEST = "signed-request"
SANDBOX = "sandbox"

# Routes outside member_required and the API key, by URL name: who may use them,
# and what else holds.
OTHER_ROUTES: dict[str, tuple[str, str]] = {
    "login": (PUBLIC, "throttled: 5 failures per username and address"),
    "login-verify": (PUBLIC, "only after the password, for a two-factor user"),
    "logout": (PUBLIC, "POST"),
    "password-change": (SIGNED_IN, ""),
    "password_change_done": (SIGNED_IN, ""),
    "password_reset": (PUBLIC, "a link by email to the account's own address"),
    "password_reset_done": (PUBLIC, ""),
    "password_reset_confirm": (PUBLIC, "the emailed link's signed token"),
    "password_reset_complete": (PUBLIC, ""),
    "set_language": (PUBLIC, "POST; the language chosen in the header"),
    "two-factor": (SIGNED_IN, "the user's own two-factor device"),
    "api-schema": (PUBLIC, "the OpenAPI document"),
    "api-docs": (PUBLIC, "the OpenAPI document"),
    "webhook-in": (SIGNED_REQUEST, "HMAC with the connection's webhook secret"),
    "sandbox_bakong:control": (STAFF, "only while SANDBOX_ENABLED; CSRF"),
    "sandbox_bakong:pay": (SANDBOX, "only while SANDBOX_ENABLED; the simulated payer"),
    "healthz": (PUBLIC, "the process answers; for load balancers"),
    "readyz": (PUBLIC, "database, broker and beat; for load balancers"),
    "metrics": (SIGNED_REQUEST, "Bearer METRICS_TOKEN; 404 without one"),
}
# Route prefixes classified as a whole (every admin page, the fake Bakong and feed)
OTHER_PREFIXES: dict[str, tuple[str, str]] = {
    "admin/": (STAFF, "Django admin; the two-factor code if the user enrolled"),
    "sandbox/": (SANDBOX, "only while SANDBOX_ENABLED; the sandbox's own tokens"),
}


@dataclass(frozen=True)
class RouteAccess:
    path: str
    name: str
    kind: str  # "page", "api" or one of the OTHER_ROUTES kinds
    view: str
    roles: frozenset[str] = frozenset()
    scope: str | None = None
    declared: bool = True
    note: str = ""
    methods: tuple[str, ...] = field(default=())


def _patterns(
    resolver: URLResolver, prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str, Any]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            inner = entry.namespace or namespace
            yield from _patterns(entry, prefix + str(entry.pattern), inner)
        elif isinstance(entry, URLPattern):
            name = entry.name or ""
            if name and namespace:
                name = f"{namespace}:{name}"
            yield "/" + prefix + str(entry.pattern), name, entry.callback


def _member_roles(callback: Any) -> frozenset[str] | None:
    seen = callback
    while seen is not None:
        roles = getattr(seen, "member_roles", None)
        if roles is not None:
            return frozenset(str(role) for role in roles)
        seen = getattr(seen, "__wrapped__", None)
    return None


def _api_view(callback: Any) -> type | None:
    cls = getattr(callback, "cls", None)
    if isinstance(cls, type) and issubclass(cls, MerchantApiView):
        return cls
    return None


def _declares_scope(cls: type) -> bool:
    for klass in cls.__mro__:
        if klass is MerchantApiView:
            return False
        if "required_scope" in vars(klass):
            return vars(klass)["required_scope"] is not UNDECLARED
    return False


def _view_label(callback: Any) -> str:
    cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    target = cls or callback
    return f"{target.__module__}.{target.__qualname__}"


def route_access(resolver: URLResolver) -> list[RouteAccess]:
    """Every route of the URLconf with who may use it; admin pages as one row."""
    found: list[RouteAccess] = []
    admin_done = False
    for path, name, callback in _patterns(resolver):
        label = _view_label(callback)
        roles = _member_roles(callback)
        api = _api_view(callback)
        if api is not None:
            declared = _declares_scope(api)
            found.append(
                RouteAccess(
                    path=path,
                    name=name,
                    kind="api",
                    view=label,
                    scope=api.required_scope if declared else None,
                    declared=declared,
                )
            )
        elif roles is not None:
            found.append(
                RouteAccess(path=path, name=name, kind="page", view=label, roles=roles)
            )
        elif name in OTHER_ROUTES:
            kind, note = OTHER_ROUTES[name]
            found.append(
                RouteAccess(path=path, name=name, kind=kind, view=label, note=note)
            )
        else:
            prefix = next((p for p in OTHER_PREFIXES if path[1:].startswith(p)), None)
            if prefix == "admin/":
                if not admin_done:
                    kind, note = OTHER_PREFIXES[prefix]
                    found.append(
                        RouteAccess(
                            path="/admin/…",
                            name="admin:*",
                            kind=kind,
                            view="django.contrib.admin",
                            note=note,
                        )
                    )
                    admin_done = True
            elif prefix is not None:
                kind, note = OTHER_PREFIXES[prefix]
                found.append(
                    RouteAccess(path=path, name=name, kind=kind, view=label, note=note)
                )
            else:
                found.append(
                    RouteAccess(
                        path=path, name=name, kind="?", view=label, declared=False
                    )
                )
    return found


def api_routes(resolver: URLResolver) -> list[RouteAccess]:
    return [route for route in route_access(resolver) if route.kind == "api"]


def undeclared(routes: Iterable[RouteAccess]) -> list[RouteAccess]:
    """Routes that say nothing about who may use them: each one is a finding."""
    return [route for route in routes if not route.declared]


YES, NO = "✓", "·"


def _row(route: RouteAccess) -> list[str]:
    anonymous = route.kind in (PUBLIC, SIGNED_REQUEST, SANDBOX)
    signed_in = anonymous or route.kind == SIGNED_IN
    cells = [YES if anonymous else NO]
    for role in ROLE_COLUMNS:
        allowed = (route.kind == "page" and role in route.roles) or signed_in
        cells.append(YES if allowed else NO)
    cells.append(YES if route.kind == STAFF or signed_in else NO)
    if route.kind == "api":
        cells.append(f"`{route.scope}`" if route.scope else "any key")
    else:
        cells.append(NO)
    return cells


def render_markdown(routes: Iterable[RouteAccess]) -> str:
    """The matrix as Markdown: one row per route, one column per role."""
    routes = list(routes)
    out = [
        "# Permission matrix",
        "",
        "Generated by `python manage.py permission_matrix --write "
        "docs/permissions.md` from the code (a page's `member_required` roles, "
        "an API view's `required_scope`, and the table in "
        "`merchants/permission_matrix.py`); `tests/merchants/"
        "test_permission_matrix.py` fails when this file, the code or the "
        "routes' real answers disagree.",
        "",
        "A role is the user's role in the merchant they are working on; a page "
        "refused to a role answers 403 (audited as `access.denied`), a signed-out "
        "visitor is sent to sign in. Staff use the Django admin (and any page of a "
        "merchant they are a member of). An API key is refused a route without "
        "its scope (403 `forbidden`, naming it) and after its expiry (401).",
        "",
    ]
    header = ["Route", "Name", "anonymous", *ROLE_COLUMNS, "staff", "API key"]
    sections = [
        ("Pages and actions", lambda r: r.kind == "page"),
        ("REST API (`Authorization: Bearer <key>`)", lambda r: r.kind == "api"),
        (
            "Sign-in, admin, webhooks and sandbox",
            lambda r: r.kind not in ("page", "api"),
        ),
    ]
    for title, wanted in sections:
        rows = [r for r in routes if wanted(r)]
        if not rows:
            continue
        out += [f"## {title}", ""]
        columns = header + (["Note"] if title.startswith("Sign-in") else [])
        out.append("| " + " | ".join(str(c) for c in columns) + " |")
        out.append("|" + "---|" * len(columns))
        for route in rows:
            cells = [f"`{route.path}`", f"`{route.name}`" if route.name else ""]
            cells += _row(route)
            if title.startswith("Sign-in"):
                cells.append(route.note)
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)
