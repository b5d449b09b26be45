"""The API's documentation pages, /api/docs (Swagger UI) and /api/redoc (ReDoc), with their
scripts and styles served from the installed fastapi-offline package: nothing is fetched from
the internet, so they work on an offline network."""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from openproctor.middleware import docs_policy

DOCS_URL = "/api/docs"
REDOC_URL = "/api/redoc"
ASSETS_URL = "/api/docs/assets"
# fastapi-offline's folder of Swagger UI and ReDoc bundles (its Python code is not used).
ASSETS_PACKAGE = ("fastapi_offline", "static")
FAVICON_URL = "/static/favicon.svg"
REDOC_BUNDLE = "redoc.standalone.js"
# ReDoc always shows its maker's logo from their CDN. It is swapped for an empty data: image
# (which fails to decode, so ReDoc hides it): no request leaves the server's origin.
REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"


def add_api_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Mounts the bundles and adds both pages, each with a policy allowing exactly its own
    inline script (Swagger UI's start-up call) and nothing from another origin."""
    package, folder = ASSETS_PACKAGE
    redoc_js = (resources.files(package) / folder / REDOC_BUNDLE).read_bytes()
    redoc_js = redoc_js.replace(REDOC_LOGO, b"data:,")

    # Before the mount, which would otherwise answer this path with the unchanged file.
    @app.get(f"{ASSETS_URL}/{REDOC_BUNDLE}", include_in_schema=False)
    def redoc_bundle() -> Response:
        return Response(redoc_js, media_type="text/javascript")

    app.mount(ASSETS_URL, StaticFiles(packages=[ASSETS_PACKAGE]), name="api-docs-assets")
    swagger_html = _html(
        get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} API - Swagger UI",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=FAVICON_URL,
        )
    )
    redoc_html = _html(
        get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} API - ReDoc",
            redoc_js_url=f"{ASSETS_URL}/{REDOC_BUNDLE}",
            redoc_favicon_url=FAVICON_URL,
            with_google_fonts=False,
        )
    )

    @app.get(DOCS_URL, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return HTMLResponse(swagger_html, headers=_policy_of(swagger_html))

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        return HTMLResponse(redoc_html, headers=_policy_of(redoc_html))


def _html(response: HTMLResponse) -> str:
    return bytes(response.body).decode()


def _policy_of(html: str) -> dict[str, str]:
    return {"Content-Security-Policy": docs_policy(html)}
