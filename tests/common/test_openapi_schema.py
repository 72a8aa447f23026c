"""The schema says what the API answers: paginated lists, every error in the one error shape,
enums for choices, a description on every operation."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", {"format": "json"}).json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def resolve(schema: dict, node: dict) -> dict:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_every_operation_has_a_description(schema):
    missing = [f"{m.upper()} {p}" for p, m, op in operations(schema) if not op.get("description")]

    assert missing == []


def test_every_list_is_documented_as_it_answers_with_cursor_and_page_size(schema):
    lists = 0
    for path, method, operation in operations(schema):
        ok = operation["responses"].get("200", {}).get("content", {}).get("application/json")
        if method != "get" or not ok:
            continue
        body = resolve(schema, ok["schema"])
        if "results" not in body.get("properties", {}):
            assert body.get("type") != "array", path
            continue
        lists += 1
        assert {"results", "next", "previous"} <= set(body["properties"]), path
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        if not path.endswith("/measures/"):  # one page: the whole timeline
            assert {"cursor", "page_size"} <= names, path
    assert lists >= 13


def test_every_error_response_has_the_error_shape_and_an_example(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")):
                continue
            body = response["content"]["application/json"]
            error = resolve(schema, resolve(schema, body["schema"])["properties"]["error"])
            assert set(error["properties"]) == {"code", "message", "fields"}, (path, status)
            assert body["examples"], (path, method, status)


def test_signed_in_operations_document_401_and_403_and_inputs_document_400(schema):
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        assert "429" in responses
        if operation.get("security") != [{}]:
            assert {"401", "403"} <= set(responses), (method, path)
        if "requestBody" in operation:
            assert "400" in responses, (method, path)


def test_choices_are_enums(schema):
    components = schema["components"]["schemas"]

    assert set(components["VisitTypeEnum"]["enum"]) == {"new", "follow_up"}
    slots = schema["paths"]["/api/v1/slots/"]["get"]["parameters"]
    visit_type = next(p for p in slots if p["name"] == "visit_type")
    assert resolve(schema, visit_type["schema"])["enum"] == ["follow_up", "new"]
    assert "enum" in resolve(schema, components["ThreadOutput"]["properties"]["priority"])


def test_the_care_plan_draft_documents_its_body(schema):
    operation = schema["paths"]["/api/v1/patients/{patient_id}/care-plans/"]["post"]

    assert "application/json" in operation["requestBody"]["content"]
    assert "draft_id" in operation["description"]


def test_auth_endpoints_need_no_token_and_the_rest_a_bearer_token(schema):
    login = schema["paths"]["/api/v1/auth/login/"]["post"]
    me = schema["paths"]["/api/v1/me/"]["get"]

    assert login["security"] == [{}]
    assert me["security"] == [{"knoxApiToken": []}]
    assert schema["components"]["securitySchemes"]["knoxApiToken"]["scheme"] == "bearer"


def _unload_spectacular_extensions() -> None:
    """Put drf-spectacular back as a fresh process has it: extension targets not yet imported."""
    from drf_spectacular.plumbing import OpenApiGeneratorExtension

    pending = list(OpenApiGeneratorExtension.__subclasses__())
    while pending:
        extension = pending.pop()
        pending.extend(extension.__subclasses__())
        target = extension.__dict__.get("target_class")
        if isinstance(target, type):
            extension.target_class = f"{target.__module__}.{target.__qualname__}"


@pytest.mark.django_db(transaction=True)
def test_the_first_schema_requests_of_a_process_may_arrive_together(live_server):
    """A threaded server just started, several clients asking for the schema at once (as the
    schemathesis runs of every role do): every one gets it, none a 500."""
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor

    def fetch(_: int) -> int:
        url = f"{live_server.url}/api/schema/"  # our own live server, over http
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310
            return int(response.status)

    from carecore.common.schema_view import SchemaView

    for _attempt in range(3):
        SchemaView._generated.clear()
        _unload_spectacular_extensions()
        with ThreadPoolExecutor(max_workers=6) as pool:
            assert list(pool.map(fetch, range(6))) == [200] * 6
        # Generated once, then served from memory: a public endpoint must not cost a
        # generation per request.
        assert len(SchemaView._generated) == 1


def test_operations_with_a_body_document_413_payload_too_large(schema):
    with_body = [
        (method, path)
        for path, method, operation in operations(schema)
        if "requestBody" in operation
    ]
    assert ("post", "/api/v1/attachments/") in with_body
    for path, method, operation in operations(schema):
        if "requestBody" in operation:
            example = operation["responses"]["413"]["content"]["application/json"]["examples"]
            assert "payload_too_large" in example, (method, path)


def test_the_event_list_documents_410_events_pruned(schema):
    # PRODUCT.md: `GET /api/v1/events/?after=<seq>` answers 410 `events_pruned` past the
    # retention (and, docs/realtime.md, for a number beyond the latest).
    responses = schema["paths"]["/api/v1/events/"]["get"]["responses"]

    example = responses["410"]["content"]["application/json"]["examples"]
    assert "events_pruned" in example
    assert "410" not in schema["paths"]["/api/v1/threads/"]["get"]["responses"]
