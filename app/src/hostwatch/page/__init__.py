"""The operator page: `/` (health at a glance, and with JavaScript the logs), `/tail` (a log's last
lines without JavaScript) and their static files.

Everything is rendered by Jinja with autoescaping, and the script fills the page with
`textContent` only, so nothing read from a log is ever taken as HTML. The script and the styles
are files of this blueprint: the Content-Security-Policy allows nothing inline and nothing from
elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, render_template, request
from werkzeug.exceptions import BadRequest, HTTPException, Unauthorized

from .. import health, logs
from ..auth import token_ok, tokens_configured
from ..config import Thresholds
from ..context import hostwatch

bp = Blueprint(
    "page",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)

# Only this app's own files and connections: the page's policy, stated here only (nginx passes it
# through and gives answers without one its own, stricter policy).
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
TAIL_FIELDS = {"log", "lines", "contains", "regex"}
REFRESH_MS = 3000


@dataclass(frozen=True)
class Check:
    """One row of the health table: what /health says, and the thresholds it was judged by."""

    key: str
    component: str
    label: str
    value: float | None
    unit: str
    status: str
    thresholds: Thresholds | None


@bp.after_request
def _headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP  # nosniff: on every answer (errors.py)
    response.headers["Referrer-Policy"] = "no-referrer"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"  # live figures, and log lines
    return response


@bp.app_template_filter("figure")
def figure(value: float | None, unit: str) -> str:
    """A health value for people; hostwatch.js formats it the same way."""
    if value is None:
        return "n/a"
    if unit == "percent":
        return f"{value:.1f} %"
    if unit == "s":
        minutes = int(value // 60)
        days, rest = divmod(minutes, 24 * 60)
        hours, mins = divmod(rest, 60)
        return f"{days} d {hours} h {mins} min" if days else f"{hours} h {mins} min"
    return f"{value:.2f}"


@bp.app_template_filter("size")
def size(value: int | None) -> str:
    if value is None:
        return "n/a"
    amount = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if amount < 1024 or unit == "GiB":
            return f"{int(amount)} B" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


@bp.get("/")
def index() -> str:
    cfg = hostwatch().config
    doc: dict[str, Any] | None = None
    if not cfg.auth.protect_health:
        doc = health.document()
    return render_template(
        "page/index.html",
        doc=doc,
        checks=_checks(doc),
        needs_token=tokens_configured(),
        protect_health=cfg.auth.protect_health,
        refresh_ms=REFRESH_MS,
        limits=cfg.limits,
    )


@bp.route("/tail", methods=["GET", "POST"])
def tail_page() -> tuple[str, int, dict[str, str]]:
    """A log's last lines as HTML, for a browser without JavaScript.

    A form cannot send an Authorization header, so when tokens are configured the form is sent by
    POST with the token as a field: it stays out of the URL, and so out of access logs and history.
    Without tokens the form is a GET, and its URL can be bookmarked.
    """
    form = request.form if request.method == "POST" else request.args
    fields = {k: form.get(k, "") for k in TAIL_FIELDS}
    context: dict[str, Any] = {
        "fields": fields,
        "needs_token": tokens_configured(),
        "logs": None,
        "lines": None,
        "notes": [],
        "error": None,
        "prompt": None,
        "limits": hostwatch().config.limits,
    }
    status = 200
    # a 401 names its scheme (RFC 9110); browsers show the page, they do not prompt for Bearer
    challenge = {"WWW-Authenticate": 'Bearer realm="hostwatch"'} if tokens_configured() else {}
    try:
        # a token is taken from a POSTed form only: in a URL it would end up in access logs
        allowed = TAIL_FIELDS | ({"token"} if request.method == "POST" else set())
        unknown = sorted(set(form) - allowed)
        if unknown:
            raise BadRequest(f"unknown field {unknown[0]!r}")
        if tokens_configured():
            token = request.form.get("token", "") if request.method == "POST" else ""
            if not token:  # asked for, not an error: the first visit looks like this
                context["prompt"] = "this host needs a token: enter it and send the form"
                return render_template("page/tail.html", **context), 401, challenge
            if not token_ok(token):
                raise Unauthorized("the token was not accepted")
        context["logs"] = logs.listing()
        if fields["log"]:
            found, headers = logs.gather(
                fields["log"],
                fields["lines"] or None,
                fields["contains"] or None,
                fields["regex"] or None,
            )
            lines, dropped = logs.fit_text(found.lines)
            context["lines"] = lines
            if found.truncated or dropped:
                context["notes"].append(logs.TRUNCATED)
            if headers.get("X-Hostwatch-Scan-Budget-Exhausted") == "true":
                context["notes"].append(
                    "the search stopped after limits.scan_bytes; older lines were not read"
                )
    except HTTPException as err:  # ours above, and the API's: bad lines or regex, missing log
        status, context["error"] = err.code or 400, err.description
    return render_template("page/tail.html", **context), status, challenge if status == 401 else {}


def _checks(doc: dict[str, Any] | None) -> list[Check]:
    """The health table's rows: from the document when there is one, else thresholds only."""
    cfg = hostwatch().config.health
    rows = [
        ("cpu:loadPerCore", "", "load per core", "load", cfg.load_per_core),
        ("memory:utilization", "", "memory used", "percent", cfg.memory_percent),
        ("swap:utilization", "", "swap used", "percent", cfg.swap_percent),
        *(
            ("disk:utilization", mount, f"disk {mount}", "percent", limits)
            for mount, limits in cfg.mounts.items()
        ),
        ("uptime", "", "uptime", "s", None),
    ]
    found: dict[tuple[str, str], dict[str, Any]] = {}
    if doc is not None:
        for key, entries in doc["checks"].items():
            for entry in entries:
                found[(key, entry.get("componentId", ""))] = entry
    checks = []
    for key, component, label, unit, limits in rows:
        entry = found.get((key, component), {})
        checks.append(
            Check(
                key=key,
                component=component,
                label=label,
                value=entry.get("observedValue"),
                unit=unit,
                status=entry.get("status", "unknown"),
                thresholds=limits,
            )
        )
    return checks
