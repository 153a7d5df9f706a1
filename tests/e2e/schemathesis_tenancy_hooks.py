"""Schemathesis hooks for the cross-tenant run (tests/e2e/test_api_schemathesis.py):
merchant B's key asks, by their own identifiers, for merchant A's objects, and a
check fails any answer whose body carries one of A's identifiers.

A's identifiers come in TONLE_TENANCY_A (JSON): {"md5", "order_id", "hash",
"forbidden": [...]}. Loaded with
SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_tenancy_hooks.
"""

from __future__ import annotations

import json
import os

import schemathesis

A = json.loads(os.environ.get("TONLE_TENANCY_A") or "{}")
# a field of a request that names an object, and which of A's identifiers it gets
AIMED = {"md5": "md5", "order_id": "order_id", "hash": "hash"}


def _aim(values):
    if isinstance(values, dict):
        for name, key in AIMED.items():
            if name in values and A.get(key):
                values[name] = A[key]
    return values


@schemathesis.hook
def map_body(ctx, body):
    return _aim(body)


@schemathesis.hook
def map_path_parameters(ctx, path_parameters):
    return _aim(path_parameters)


@schemathesis.hook
def map_query(ctx, query):
    return _aim(query)


@schemathesis.check
def no_other_merchants_data(ctx, response, case):
    """B's answers never carry any identifier of A's objects."""
    seen = os.environ.get("TONLE_TENANCY_SEEN")
    if seen:  # the test counts the answers this check looked at
        with open(seen, "a") as out:
            out.write(f"{case.method} {case.formatted_path} {response.status_code}\n")
    text = response.content.decode("utf-8", errors="replace")
    # what B sent itself may come back (B's own code under the same order id,
    # an error naming the md5 asked for): an echo is not a leak
    sent = json.dumps(
        [case.body, case.query, case.path_parameters], default=str, ensure_ascii=False
    )
    leaked = [
        value
        for value in A.get("forbidden", [])
        if value and value in text and value not in sent
    ]
    if leaked:
        raise AssertionError(
            f"merchant B's key saw merchant A's {leaked} in {case.method} "
            f"{case.formatted_path} (status {response.status_code})"
        )
