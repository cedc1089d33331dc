"""The OpenAPI 3.1 document of the read-only API (/api/v1/openapi.json), built in code from the
data dictionary and the vocabularies so that it cannot drift from what the API answers."""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale

from cases import vocabularies as vocab
from cases.search import DEFAULT_PER_PAGE, MAX_PAGE, MAX_QUERY_LENGTH, SORTS, YEAR_MAX, YEAR_MIN
from dashboards import dictionary as dd
from dashboards.publishing import STAT_DIMENSIONS

API_VERSION = "1.0.0"
API_PREFIX = "/api/v1"
MAX_PER_PAGE = 100
REF = "#/components/"


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"{REF}{kind}/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    schema = dict(schema)
    schema["type"] = [schema["type"], "null"]
    return schema


def _field_schema(spec: dd.FieldSpec) -> dict[str, Any]:
    """JSON Schema of one published field, with its description (English)."""
    schema: dict[str, Any]
    if spec.kind == dd.KEY:
        schema = {"type": "string", "enum": list(vocab.keys(spec.vocabulary))}
    elif spec.kind == dd.KEYS:
        schema = {
            "type": "array",
            "items": {"type": "string", "enum": list(vocab.keys(spec.vocabulary))},
        }
    elif spec.kind == dd.COUNTRY:
        schema = {"type": "string", "pattern": "^[A-Z]{3}$"}
    elif spec.kind == dd.INTEGER:
        schema = {"type": "integer"}
    elif spec.kind == dd.DATE:
        schema = {"type": "string", "format": "date"}
    elif spec.kind == dd.DATETIME:
        schema = {"type": "string", "format": "date-time"}
    elif spec.kind == dd.SOURCES:
        schema = {"type": "array", "items": _ref("schemas", "Source")}
    else:  # text and web addresses (an address may be empty)
        schema = {"type": "string"}
        if spec.max_length:
            schema["maxLength"] = spec.max_length
    if spec.nullable:
        schema = _nullable(schema)
    if spec.name == "licence":
        schema["enum"] = [dd.LICENCE_NAME]
    schema["description"] = spec.description
    return schema


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra) -> dict:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    schema["required"] = list(properties) if required is None else required
    schema.update(extra)
    return schema


STRING = {"type": "string"}
INTEGER = {"type": "integer"}
NULLABLE_STRING = {"type": ["string", "null"]}
LABELS = _object(dict.fromkeys(vocab.LANGUAGES, STRING), required=[], additionalProperties=STRING)


def _schemas() -> dict[str, Any]:
    record = {name: _field_schema(spec) for name, spec in dd.ALL_SPECS.items()}
    case_properties = {name: record[name] for name in dd.EXPORT_COLUMNS}
    case_properties.update(
        api_url={"type": "string", "description": "This record in the API."},
        history_url={"type": "string", "description": "Its published versions in the API."},
        assessments_url={"type": "string", "description": "Its published assessments."},
    )
    page_link = {"type": ["string", "null"]}
    entry = _object(
        {
            "key": STRING,
            **dict.fromkeys(vocab.LANGUAGES, STRING),
            "cofog": {"type": "string", "description": "COFOG division of a sector."},
            "subregion": {"type": ["string", "null"], "description": "Subregion of a country."},
        },
        required=["key", *vocab.LANGUAGES],
    )
    framework_summary = _object(
        {
            "key": STRING,
            "version": STRING,
            "status": {"type": "string", "enum": ["published", "retired"]},
            "method": STRING,
            "title": LABELS,
            "loaded_at": {"type": ["string", "null"], "format": "date-time"},
            "api_url": STRING,
            "html_url": STRING,
        }
    )
    return {
        "Source": _object(
            {
                "url": {"type": "string", "description": "Address of the source (may be empty)."},
                "title": {"type": "string"},
                "type": {"type": "string", "enum": list(vocab.keys("source_type"))},
                "accessed": {"type": ["string", "null"], "description": "Day it was read."},
            },
            required=["url", "title", "type"],
        ),
        "Case": _object(
            case_properties,
            description="The published record of a case (the published version only).",
        ),
        "CaseList": _object(
            {
                "total": {"type": "integer", "description": "Cases matching the filters."},
                "page": INTEGER,
                "per_page": INTEGER,
                "pages": INTEGER,
                "items": {"type": "array", "items": _ref("schemas", "Case")},
                "links": _object(
                    {
                        "self": STRING,
                        "first": STRING,
                        "last": STRING,
                        "prev": page_link,
                        "next": page_link,
                        "html": {"type": "string", "description": "The same list on /cases."},
                    }
                ),
            }
        ),
        "Change": _object(
            {
                "field": STRING,
                "kind": {"type": "string", "enum": ["value", "set", "sources", "text"]},
                "old": {},
                "new": {},
                "added": {"type": "array"},
                "removed": {"type": "array"},
                "changed": {"type": "array"},
            }
        ),
        "Version": _object(
            {
                "number": INTEGER,
                "created_at": {"type": "string", "format": "date-time"},
                "comment": STRING,
                "author": {
                    "type": "string",
                    "description": "editorial, or the role of an outside author (never a name).",
                },
                "previous": {"type": ["integer", "null"]},
                "changes": {"type": "array", "items": _ref("schemas", "Change")},
                "data": {"type": "object", "description": "The record as this version has it."},
            }
        ),
        "History": _object(
            {
                "ref": STRING,
                "versions": {
                    "type": "array",
                    "items": _ref("schemas", "Version"),
                    "description": "Published versions, newest first.",
                },
            }
        ),
        "Assessment": _object(
            {
                "framework": _object(
                    {"key": STRING, "version": STRING, "title": LABELS, "method": STRING}
                ),
                "criteria": {"type": "array", "items": {"type": "object"}},
                "common_tier": STRING,
                "tier_provisional": {"type": "boolean"},
                "level": {"type": ["object", "null"]},
                "overall": {"type": "object"},
                "n_reviewers": INTEGER,
                "alpha": {"type": ["number", "null"]},
                "flags": {"type": "array", "items": STRING},
                "recommendations": {"type": "array"},
                "method_note": STRING,
                "published_at": {"type": ["string", "null"], "format": "date-time"},
                "is_example": {"type": "boolean"},
            }
        ),
        "AssessmentList": _object(
            {
                "ref": STRING,
                "total": INTEGER,
                "items": {"type": "array", "items": _ref("schemas", "Assessment")},
            }
        ),
        "VocabularyEntry": entry,
        "Vocabulary": _object(
            {
                "name": STRING,
                "items": {"type": "array", "items": _ref("schemas", "VocabularyEntry")},
            }
        ),
        "Vocabularies": _object(
            {
                "languages": {"type": "array", "items": STRING},
                "vocabularies": {
                    "type": "object",
                    "additionalProperties": {
                        "type": "array",
                        "items": _ref("schemas", "VocabularyEntry"),
                    },
                },
            }
        ),
        "FrameworkSummary": framework_summary,
        "FrameworkList": _object(
            {
                "total": INTEGER,
                "items": {"type": "array", "items": _ref("schemas", "FrameworkSummary")},
            }
        ),
        "Framework": {
            "allOf": [
                _ref("schemas", "FrameworkSummary"),
                _object({"document": {"type": "object"}}),
            ]
        },
        "Stats": _object(
            {
                "total": INTEGER,
                "group_by": {
                    "type": "array",
                    "items": {"type": "string", "enum": list(STAT_DIMENSIONS)},
                },
                "groups": {
                    "type": "array",
                    "items": _object(
                        {"count": INTEGER},
                        additionalProperties={"type": ["string", "integer", "null"]},
                    ),
                },
            }
        ),
        "Index": _object(
            {
                "name": STRING,
                "version": STRING,
                "licence": STRING,
                "openapi_url": STRING,
                "documentation_url": STRING,
                "endpoints": {"type": "object", "additionalProperties": STRING},
            }
        ),
        "Error": _object(
            {
                "error": _object(
                    {
                        "status": INTEGER,
                        "title": STRING,
                        "message": {"type": "string", "description": "What went wrong."},
                    }
                )
            }
        ),
    }


def _array_parameter(name: str, description: str, values: list[str] | None = None) -> dict:
    items: dict[str, Any] = {"type": "string"}
    if values:
        items["enum"] = values
    return {
        "name": name,
        "in": "query",
        "description": description + " Repeat the parameter for several values (OR).",
        "style": "form",
        "explode": True,
        "schema": {"type": "array", "items": items},
    }


def _parameters() -> dict[str, Any]:
    countries = "ISO 3166-1 alpha-3 country code, e.g. BRA."
    return {
        "q": {
            "name": "q",
            "in": "query",
            "description": "Search words (name, acronym, institution, purpose); every word must "
            "match as a prefix, ignoring accents and case.",
            "schema": {"type": "string", "maxLength": MAX_QUERY_LENGTH},
        },
        "country": _array_parameter("country", countries),
        "branch": _array_parameter("branch", "Branch of government.", list(vocab.keys("branch"))),
        "level": _array_parameter("level", "Government level.", list(vocab.keys("level"))),
        "sector": _array_parameter("sector", "Sector.", list(vocab.keys("sector"))),
        "technique": _array_parameter("technique", "AI technique.", list(vocab.keys("technique"))),
        "status": _array_parameter(
            "status", "Lifecycle status.", list(vocab.keys("lifecycle_status"))
        ),
        "decision_role": _array_parameter(
            "decision_role", "Role in decisions.", list(vocab.keys("decision_role"))
        ),
        "year_from": {
            "name": "year_from",
            "in": "query",
            "description": "Earliest start year.",
            "schema": {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
        },
        "year_to": {
            "name": "year_to",
            "in": "query",
            "description": "Latest start year.",
            "schema": {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
        },
        "sort": {
            "name": "sort",
            "in": "query",
            "description": "Order: relevance (with search words; the default then), newest "
            "(the default otherwise), oldest, name, country.",
            "schema": {"type": "string", "enum": list(SORTS)},
        },
        "lang": {
            "name": "lang",
            "in": "query",
            "description": "Language of error messages and of the country order (es, pt, en).",
            "schema": {"type": "string", "enum": ["es", "pt", "en"]},
        },
        "page": {
            "name": "page",
            "in": "query",
            "description": "Page number (a page past the end gives the last page).",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        "per_page": {
            "name": "per_page",
            "in": "query",
            "description": "Cases per page.",
            "schema": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_PER_PAGE,
                "default": DEFAULT_PER_PAGE,
            },
        },
        "group_by": {
            "name": "group_by",
            "in": "query",
            "required": True,
            "description": "Dimensions to count by, comma-separated: "
            + ", ".join(STAT_DIMENSIONS)
            + " (year is the start year).",
            "style": "form",
            "explode": False,
            "schema": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "enum": list(STAT_DIMENSIONS)},
            },
        },
        "ref": {
            "name": "ref",
            "in": "path",
            "required": True,
            "description": "Public reference of a case, e.g. BRA-0027.",
            "schema": {"type": "string"},
        },
        "vocabulary": {
            "name": "name",
            "in": "path",
            "required": True,
            "description": "Name of a controlled list (or `country`).",
            "schema": {"type": "string", "enum": [*vocab.VOCABULARY_NAMES, "country"]},
        },
        "framework_key": {
            "name": "key",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        },
        "framework_version": {
            "name": "version",
            "in": "path",
            "required": True,
            "schema": {"type": "string"},
        },
        "if_none_match": {
            "name": "If-None-Match",
            "in": "header",
            "description": "An ETag from an earlier answer: 304 when nothing changed.",
            "schema": {"type": "string"},
        },
    }


FILTERS = ("q", "country", "branch", "level", "sector", "technique", "status", "decision_role")
FILTERS = (*FILTERS, "year_from", "year_to")

_HEADERS = {
    "ETag": {"description": "Tag of this answer, for If-None-Match.", "schema": STRING},
    "Access-Control-Allow-Origin": {"description": "Always `*`.", "schema": STRING},
    "X-RateLimit-Limit": {"description": "Requests allowed per minute.", "schema": INTEGER},
    "X-RateLimit-Remaining": {"description": "Requests left this minute.", "schema": INTEGER},
}


def _responses() -> dict[str, Any]:
    error = {"application/json": {"schema": _ref("schemas", "Error")}}
    return {
        "NotModified": {"description": "Not modified since the ETag sent in If-None-Match."},
        "BadRequest": {"description": "A parameter is not valid.", "content": error},
        "NotFound": {"description": "Nothing public at this address.", "content": error},
        "TooManyRequests": {
            "description": "Rate limit reached: wait for the number of seconds in Retry-After.",
            "headers": {"Retry-After": {"schema": INTEGER}},
            "content": error,
        },
    }


def _operation(
    operation_id: str,
    summary: str,
    schema: str | None,
    *,
    parameters: tuple[str, ...] = (),
    not_found: bool = False,
    bad_request: bool = False,
    description: str = "",
) -> dict[str, Any]:
    content = (
        {"application/json": {"schema": _ref("schemas", schema)}}
        if schema
        else {"application/json": {"schema": {"type": "object"}}}
    )
    responses: dict[str, Any] = {
        "200": {
            "description": "OK",
            "headers": {name: _ref("headers", name) for name in _HEADERS},
            "content": content,
        },
        "304": _ref("responses", "NotModified"),
        "429": _ref("responses", "TooManyRequests"),
    }
    if bad_request:
        responses["400"] = _ref("responses", "BadRequest")
    if not_found:
        responses["404"] = _ref("responses", "NotFound")
    operation = {
        "operationId": operation_id,
        "summary": summary,
        "parameters": [_ref("parameters", name) for name in (*parameters, "if_none_match")],
        "responses": dict(sorted(responses.items())),
    }
    if description:
        operation["description"] = description
    return {"get": operation}


def _paths() -> dict[str, Any]:
    listing = (*FILTERS, "sort", "page", "per_page", "lang")
    return {
        "/": _operation("apiIndex", "What the API offers, with links.", "Index"),
        "/cases": _operation(
            "listCases",
            "Public cases, filtered and paged exactly like the /cases page.",
            "CaseList",
            parameters=listing,
            bad_request=True,
            description="Takes the same parameters as the /cases page and gives the same "
            "total and order; unknown filter values are ignored, as there. `page` and "
            "`per_page` must be whole numbers in range (400 otherwise). Paging links are in "
            "`links` and in the Link header.",
        ),
        "/cases/{ref}": _operation(
            "getCase", "One public case.", "Case", parameters=("ref",), not_found=True
        ),
        "/cases/{ref}/history": _operation(
            "getCaseHistory",
            "The published versions of a case, newest first, with what changed.",
            "History",
            parameters=("ref",),
            not_found=True,
        ),
        "/cases/{ref}/assessments": _operation(
            "getCaseAssessments",
            "Published assessments of a case (consolidated scores, tier, recommendations).",
            "AssessmentList",
            parameters=("ref",),
            not_found=True,
        ),
        "/vocabularies": _operation(
            "listVocabularies",
            "Every controlled list with its labels in es, pt and en, and the LAC countries.",
            "Vocabularies",
        ),
        "/vocabularies/{name}": _operation(
            "getVocabulary",
            "One controlled list.",
            "Vocabulary",
            parameters=("vocabulary",),
            not_found=True,
        ),
        "/frameworks": _operation(
            "listFrameworks",
            "Evaluation framework versions (published and retired).",
            "FrameworkList",
        ),
        "/frameworks/{key}/{version}": _operation(
            "getFramework",
            "One framework version with its whole document.",
            "Framework",
            parameters=("framework_key", "framework_version"),
            not_found=True,
        ),
        "/stats": _operation(
            "caseStats",
            "Counts of public cases grouped by country, branch, level, sector and/or year.",
            "Stats",
            parameters=("group_by", *FILTERS),
            bad_request=True,
            description="Takes the filters of /cases; the counts add up to its total.",
        ),
        "/openapi.json": _operation("openapi", "This document.", None),
    }


def build_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document (descriptions in English). Needs an app context."""
    with force_locale("en"):
        return {
            "openapi": "3.1.0",
            "info": {
                "title": "LAC AI Observatory API",
                "version": API_VERSION,
                "summary": "Read-only open data on government AI use cases in Latin America "
                "and the Caribbean.",
                "description": "Public cases (published versions only), their history and "
                "published assessments, the controlled vocabularies, the evaluation frameworks "
                "and aggregate counts. No key is needed; each client address may make a "
                "limited number of requests per minute (429 beyond). Answers carry an ETag "
                "and allow cross-origin GET. Errors are JSON with a message. The data is "
                f"published under {dd.LICENCE_NAME}: cite the observatory and the sources "
                "of each case.",
                "license": {"name": dd.LICENCE_NAME, "identifier": dd.LICENCE_ID},
            },
            "servers": [{"url": API_PREFIX}],
            "paths": _paths(),
            "components": {
                "schemas": _schemas(),
                "parameters": _parameters(),
                "responses": _responses(),
                "headers": _HEADERS,
            },
        }
