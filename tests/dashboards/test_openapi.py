"""The OpenAPI 3.1 document: it validates, and every documented endpoint answers as documented
(status codes and the shape of the body)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from typing import Any

import pytest

from cases.services import load_starter_library
from observatory.db import session_scope
from tests.dashboards._opendata import add_assessment, add_case, add_framework

SAMPLE_REF = "PER-0100"
VALIDATE_SCRIPT = (
    "import json, sys\n"
    "from openapi_spec_validator import validate\n"
    "validate(json.load(sys.stdin))\n"
    "print('valid')\n"
)


@pytest.fixture
def document(client) -> dict:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


@pytest.fixture
def sample(app) -> dict[str, str]:
    """A database with the starter library, one case with two versions and a published
    assessment, and a published framework: something real behind every path."""
    with session_scope(app) as session:
        load_starter_library(session)
        case = add_case(
            session,
            ref=SAMPLE_REF,
            name="Caso de muestra",
            versions=[{"published": True}, {"published": True, "acronym": "CM"}],
            vulnerable_groups=["migrants"],
            sources=[{"url": "https://example.org", "title": "", "type": "news", "accessed": None}],
        )
        framework = add_framework(session)
        add_assessment(session, case, framework, status="published")
        session.commit()
        return {"ref": SAMPLE_REF, "name": "sector", "key": framework.key, "version": "1.0"}


# --- validation of the document --------------------------------------------------------------


def _external_validation(document: dict) -> str | None:
    """Validate with openapi-spec-validator: in this interpreter if installed, else with a
    `python3` on the PATH that has it; None when neither can."""
    try:
        from openapi_spec_validator import validate  # type: ignore[import-not-found]
    except ImportError:
        validate = None
    if validate is not None:
        validate(document)
        return "valid"
    python = shutil.which("python3")
    if not python or python == sys.executable:
        return None
    try:
        result = subprocess.run(
            [python, "-c", VALIDATE_SCRIPT],
            input=json.dumps(document),
            capture_output=True,
            text=True,
            timeout=60,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if "No module named" in result.stderr:
        return None
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _resolve(document: dict, ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = document
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def test_document_validates(document):
    outcome = _external_validation(document)
    if outcome is None:  # no validator anywhere: the structural checks below still run
        pytest.skip("openapi-spec-validator is not installed")
    assert outcome == "valid"


def test_document_structure(document):
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    assert document["info"]["license"]["identifier"] == "CC-BY-4.0"
    assert document["servers"] == [{"url": "/api/v1"}]
    for ref in _refs(document):
        _resolve(document, ref)  # every $ref points somewhere
    operation_ids = []
    for path, item in document["paths"].items():
        assert path.startswith("/") and set(item) == {"get"}, path
        operation = item["get"]
        operation_ids.append(operation["operationId"])
        assert {"200", "304", "429"} <= set(operation["responses"])
        declared = {
            _resolve(document, p["$ref"])["name"]
            for p in operation["parameters"]
            if _resolve(document, p["$ref"])["in"] == "path"
        }
        assert declared == set(re.findall(r"{(\w+)}", path)), path
    assert len(set(operation_ids)) == len(operation_ids)


def test_case_schema_lists_every_published_field(document, client, sample):
    schema = document["components"]["schemas"]["Case"]
    record = client.get(f"/api/v1/cases/{SAMPLE_REF}").get_json()
    assert set(schema["properties"]) == set(record) == set(schema["required"])
    branch = schema["properties"]["branch"]
    assert branch["enum"] == ["executive", "legislative", "judicial", "autonomous"]


# --- every path answers as documented --------------------------------------------------------


def _type_ok(value: Any, kind: str) -> bool:
    checks = {
        "object": lambda v: isinstance(v, dict),
        "array": lambda v: isinstance(v, list),
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "null": lambda v: v is None,
    }
    return checks[kind](value)


def check(document: dict, schema: dict, value: Any, where: str = "$") -> list[str]:
    """Errors of `value` against a JSON Schema (the subset the document uses)."""
    if "$ref" in schema:
        return check(document, _resolve(document, schema["$ref"]), value, where)
    errors: list[str] = []
    for part in schema.get("allOf", []):
        errors += check(document, part, value, where)
    kinds = schema.get("type")
    if kinds is not None:
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if not any(_type_ok(value, kind) for kind in kinds):
            return [f"{where}: {value!r} is not {kinds}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{where}: longer than {schema['maxLength']}")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{where}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        errors += [
            f"{where}: {name} missing" for name in schema.get("required", []) if name not in value
        ]
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                errors += check(document, properties[name], item, f"{where}.{name}")
            elif isinstance(extra, dict):
                errors += check(document, extra, item, f"{where}.{name}")
            elif extra is False:
                errors.append(f"{where}: unexpected {name}")
    if isinstance(value, list) and "items" in schema:
        if len(value) < schema.get("minItems", 0):
            errors.append(f"{where}: fewer than {schema['minItems']} items")
        for index, item in enumerate(value):
            errors += check(document, schema["items"], item, f"{where}[{index}]")
    return errors


def test_the_checker_catches_a_wrong_body(document):
    case = {"$ref": "#/components/schemas/Case"}
    assert check(document, case, {"ref": "X"})  # nearly everything missing
    error = {"$ref": "#/components/schemas/Error"}
    assert check(document, error, {"error": {"status": 404, "title": "t", "message": "m"}}) == []
    assert check(document, error, {"error": {"status": "404", "title": "t", "message": "m"}})


def _url(path: str, values: dict[str, str], operation: dict, document: dict) -> str:
    url = "/api/v1" + re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)
    required = [
        _resolve(document, p["$ref"])
        for p in operation["parameters"]
        if _resolve(document, p["$ref"]).get("required")
        and _resolve(document, p["$ref"])["in"] == "query"
    ]
    if required:
        url += "?" + "&".join(f"{param['name']}=country,branch" for param in required)
    return url


def _body_schema(document: dict, operation: dict, status: str) -> dict:
    response = operation["responses"][status]
    if "$ref" in response:
        response = _resolve(document, response["$ref"])
    return response["content"]["application/json"]["schema"]


def test_every_path_answers_200_with_the_documented_body(document, client, sample):
    for path, item in document["paths"].items():
        operation = item["get"]
        url = _url(path, sample, operation, document)
        response = client.get(url)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        assert response.mimetype == "application/json"
        errors = check(document, _body_schema(document, operation, "200"), response.get_json())
        assert errors == [], (url, errors[:10])
        for header in operation["responses"]["200"]["headers"]:
            assert header in response.headers, (url, header)
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304, url


def test_documented_404_and_400_answer_as_documented(document, client, sample):
    missing = {"ref": "ZZZ-0000", "name": "colours", "key": "none", "version": "0"}
    for path, item in document["paths"].items():
        operation = item["get"]
        if "404" in operation["responses"]:
            url = _url(path, missing, operation, document)
            response = client.get(url)
            assert response.status_code == 404, url
            assert (
                check(document, _body_schema(document, operation, "404"), response.get_json()) == []
            )
        if "400" in operation["responses"]:
            url = "/api/v1" + path + "?per_page=0&group_by=colour"
            response = client.get(url)
            assert response.status_code == 400, url
            assert (
                check(document, _body_schema(document, operation, "400"), response.get_json()) == []
            )


def test_every_sample_case_matches_the_schema(document, client, sample):
    schema = {"$ref": "#/components/schemas/CaseList"}
    url = "/api/v1/cases?per_page=100"
    while url:
        body = client.get(url).get_json()
        assert check(document, schema, body) == []
        url = body["links"]["next"]


def test_human_page_lists_every_endpoint(document, client, sample):
    html = client.get("/api?lang=en").get_data(as_text=True)
    for path in document["paths"]:
        assert f"GET /api/v1{path}</code>" in html, path
    assert f"/api/v1/cases/{SAMPLE_REF}" in html or "/api/v1/cases/ARG-0001" in html
    assert "429" in html and "ETag" in html
