"""The API's error answers in its OpenAPI schema: one body for every error, and on every
operation the errors it can give, read from what the operation depends on (a sign-in, a path
id, input to validate, the CSRF check on changes) so a new route is documented as it is added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import BaseRoute

from openproctor.deps import SAFE_METHODS, signed_in_user
from openproctor.pagination import NEXT_CURSOR_HEADER, page_request

API_PREFIX = "/api/v1/"
ERROR_SCHEMA = "ErrorBody"


class Problem(BaseModel):
    """One problem with the request: where (`loc`: "query", "cursor"), what, and its kind."""

    loc: list[str | int]
    msg: str
    type: str | None = None


class ErrorBody(BaseModel):
    """Every error answer of the API: a sentence, or for 422 the list of problems."""

    detail: str | list[Problem]


SIGN_IN = "Not signed in, or the API token is unknown or revoked."
FORBIDDEN = "Signed in without the role this needs, or the API token lacks its scope."
CSRF = "The X-CSRF-Token header is missing or wrong (browser sessions)."
NOT_FOUND = "Nothing with this id, or nothing you may see."
INVALID = "The request does not fit: each problem names its field."

NEXT_PAGE_HEADERS = {
    NEXT_CURSOR_HEADER: {
        "description": "The cursor of the next page; absent on the last page.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'The next page\'s URL, as `<url>; rel="next"`; absent on the last page.',
        "schema": {"type": "string"},
    },
}


def with_error_responses(
    openapi: Callable[[], dict[str, Any]], routes: Iterable[BaseRoute]
) -> Callable[[], dict[str, Any]]:
    """Wraps FastAPI's schema builder: the schema it builds, with the errors added once."""
    done: dict[str, Any] = {}

    def build() -> dict[str, Any]:
        if not done:
            done.update(document_errors(openapi(), routes))
        return done

    return build


def document_errors(schema: dict[str, Any], routes: Iterable[BaseRoute]) -> dict[str, Any]:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    definitions = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(definitions.pop("$defs", {}))
    components[ERROR_SCHEMA] = definitions
    # Each route as mounted (prefix and all), through the routers that include it.
    for mounted in iter_route_contexts(list(routes)):
        route = mounted.original_route
        path = mounted.path_format or ""
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        if path.startswith(API_PREFIX):
            for method in route.methods or ():
                _document(schema["paths"][path][method.lower()], route, method)
    # Routes outside /api/v1 (the seed-compatible API) answer 422 through the same handler:
    # their FastAPI-made 422 points at the shared body too, so no reference dangles (ReDoc
    # refuses the whole document over one).
    fastapi_422 = "#/components/schemas/HTTPValidationError"
    for operations in schema["paths"].values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                body = response.get("content", {}).get("application/json", {})
                if body.get("schema") == {"$ref": fastapi_422}:
                    body["schema"] = {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _document(operation: dict[str, Any], route: APIRoute, method: str) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    calls = set(_calls(route.dependant))
    forbidden = []
    if signed_in_user in calls:
        _add(responses, "401", SIGN_IN)
        forbidden.append(FORBIDDEN)
    if method not in SAFE_METHODS:
        forbidden.append(CSRF)
    if forbidden:
        _add(responses, "403", " Or: ".join(forbidden))
    if route.dependant.path_params:
        _add(responses, "404", NOT_FOUND)
    if _takes_input(route.dependant):
        _add(responses, "422", INVALID)
    for code, response in responses.items():
        if code.startswith(("4", "5")):
            response["content"] = {
                "application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR_SCHEMA}"}}
            }
    if page_request in calls and "200" in responses:
        responses["200"]["headers"] = NEXT_PAGE_HEADERS


def _add(responses: dict[str, Any], code: str, description: str) -> None:
    """Adds the answer, keeping a description the route wrote itself."""
    responses.setdefault(code, {"description": description})


def _calls(dependant: Dependant) -> Iterable[object]:
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from _calls(dependency)


def _takes_input(dependant: Dependant) -> bool:
    """Whether the request carries something to validate: a path, query, header or body value."""
    own = (dependant.path_params, dependant.query_params, dependant.header_params)
    if any(own) or dependant.body_params:
        return True
    return any(_takes_input(dependency) for dependency in dependant.dependencies)
