"""Every 4xx/5xx as application/problem+json (RFC 9457), never a stack trace; the headers every
answer carries, whoever is in front of the app."""

from __future__ import annotations

from http import HTTPStatus

from flask import Blueprint, Response, current_app, json
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

bp = Blueprint("errors", __name__)

PROBLEM_JSON = "application/problem+json"


def problem(status: int, detail: str, headers: dict[str, str] | None = None) -> Response:
    body = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    return Response(json.dumps(body) + "\n", status, headers, mimetype=PROBLEM_JSON)


# Error answers that may keep their own body: the health document (503 while failing) and the
# page's HTML (the form page shows its own errors).
OWN_ERROR_BODIES = {PROBLEM_JSON, "application/health+json", "text/html"}


@bp.after_app_request
def _no_sniffing(response: Response) -> Response:
    if response.status_code >= 400 and response.mimetype not in OWN_ERROR_BODIES:
        # werkzeug answers a failed If-Match on a static file (412) with the file itself
        response.close()  # the file it was to send
        response = problem(response.status_code, HTTPStatus(response.status_code).description)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.app_errorhandler(HTTPException)
def http_error(err: HTTPException) -> Response:
    status = err.code or 500
    headers: dict[str, str] = {}
    if isinstance(err, MethodNotAllowed) and err.valid_methods:
        headers["Allow"] = ", ".join(err.valid_methods)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="hostwatch"'
    if status >= 500:  # werkzeug's own 5xx texts are generic; keep them out of sight all the same
        return problem(status, HTTPStatus(status).description, headers)
    return problem(status, err.description or HTTPStatus(status).description, headers)


@bp.app_errorhandler(Exception)
def unexpected(err: Exception) -> Response:
    current_app.logger.exception("unhandled error")  # the trace goes to the log, not the client
    return http_error(InternalServerError())
