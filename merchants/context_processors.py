from django.http import HttpRequest


def current_merchant(request: HttpRequest) -> dict:
    membership = getattr(request, "membership", None)
    return {
        "current_merchant": getattr(request, "merchant", None),
        "current_role": membership.role if membership else None,
        "current_role_label": membership.get_role_display() if membership else None,
        "memberships": getattr(request, "memberships", []),
    }
