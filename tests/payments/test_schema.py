import re

import pytest
import yaml
from django.core.management import call_command

ROUTES = {
    "/api/v1/qr": "post",
    "/api/v1/transaction/check": "post",
    "/api/v1/transaction/by-order": "post",
    "/api/v1/transaction/by-hash": "post",
    "/api/v1/me": "get",
    "/api/v1/qr/{md5}.png": "get",
    "/api/v1/qr/{md5}.svg": "get",
}


@pytest.fixture(scope="module")
def schema(django_db_blocker, tmp_path_factory):
    out = tmp_path_factory.mktemp("schema") / "schema.yml"
    with django_db_blocker.unblock():
        # --validate checks it against the OpenAPI 3 meta-schema; warnings fail
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    return yaml.safe_load(out.read_text())


def test_schema_documents_every_shop_route(schema):
    for path, method in ROUTES.items():
        assert method in schema["paths"][path], path


def test_schema_documents_requests_responses_and_errors(schema):
    create = schema["paths"]["/api/v1/qr"]["post"]
    assert set(create["responses"]) >= {"200", "201", "400", "401", "409", "429"}
    assert "requestBody" in create
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    error = schema["components"]["schemas"]["Error"]
    assert set(error["properties"]) >= {"error", "message"}
    assert "rate_limit_exceeded" in schema["components"]["schemas"]["ErrorEnum"]["enum"]
    check = schema["paths"]["/api/v1/transaction/check"]["post"]
    assert set(check["responses"]) >= {"200", "400", "401", "404", "429"}
    assert "Retry-After" in check["responses"]["429"]["headers"]
    assert "X-RateLimit-Remaining" in check["responses"]["200"]["headers"]


def test_schema_uses_bearer_api_keys(schema):
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert schema["paths"]["/api/v1/me"]["get"]["security"] == [{"ApiKey": []}]


def test_amounts_are_strings_in_answers(schema):
    output = schema["components"]["schemas"]["QrCreateOutput"]
    assert output["properties"]["amount"]["type"] == "string"


def test_docs_page_works_offline(client):
    # every script, style and icon comes from this server (the page also carries a
    # random CSRF token, so a plain search for "cdn" would fail one run in hundreds)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    links = re.findall(r'(?:src|href)="([^"]*)"', response.content.decode())
    assert links, "the page links its assets"
    assert [u for u in links if not u.startswith("/") or u.startswith("//")] == []


@pytest.mark.parametrize(
    "component",
    [
        "QrCreateInputRequest",
        "TransactionCheckInputRequest",
        "TransactionByOrderInputRequest",
        "SlipByHashRequest",
        "SlipByShortHashRequest",
    ],
)
def test_inputs_are_documented_as_refusing_unknown_fields(schema, component):
    assert schema["components"]["schemas"][component]["additionalProperties"] is False


def test_posts_document_the_413_for_an_oversized_body(schema):
    for path in (
        "/api/v1/qr",
        "/api/v1/transaction/check",
        "/api/v1/transaction/by-order",
        "/api/v1/transaction/by-hash",
    ):
        assert "413" in schema["paths"][path]["post"]["responses"], path


def test_schema_documents_the_slip_lookup(schema):
    by_hash = schema["paths"]["/api/v1/transaction/by-hash"]["post"]
    assert set(by_hash["responses"]) >= {"200", "400", "401", "429", "503"}
    components = schema["components"]["schemas"]
    # one of two bodies: the full hash, or the short hash with amount and currency
    assert [
        ref["$ref"].rsplit("/", 1)[1]
        for ref in components["TransactionByHashInputRequest"]["oneOf"]
    ] == ["SlipByHashRequest", "SlipByShortHashRequest"]
    assert components["SlipByHashRequest"]["required"] == ["hash"]
    assert set(components["SlipByShortHashRequest"]["required"]) == {
        "short_hash",
        "amount",
        "currency",
    }
    output = schema["components"]["schemas"]["TransactionByHashOutput"]
    assert {"transaction", "payment_request", "reused"} <= set(output["properties"])
    assert (
        schema["components"]["schemas"]["SlipTransaction"]["properties"]["amount"][
            "type"
        ]
        == "string"
    )
