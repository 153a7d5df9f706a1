"""What a page says about filters it could not understand (django-filter): each
filter's label, the text as typed and the reason, so the page shows them instead
of results (never every line, as if the filter had not been given)."""

from __future__ import annotations

import django_filters


def filter_problems(filterset: django_filters.FilterSet) -> list[dict[str, str]]:
    """The filters a bound filter set could not understand, in the form's order."""
    if not filterset.is_bound or filterset.is_valid():
        return []
    form = filterset.form
    problems = []
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        problems.append(
            {
                "name": name,
                "label": str(field.label) if field and field.label else name,
                "value": str(form.data.get(name, "")),
                "message": " ".join(str(e) for e in errors),
            }
        )
    return problems
