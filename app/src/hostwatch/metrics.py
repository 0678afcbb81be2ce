"""/metrics: request counters and latency histograms; host gauges, /health's statuses and the
release, taken at scrape time.

Under gunicorn each worker is its own process. With PROMETHEUS_MULTIPROC_DIR set, prometheus_client
writes every worker's samples to files there, and each scrape builds a fresh registry that sums them
(MultiProcessCollector); without it (tests, `flask run`) a plain in-process registry is used.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Blueprint, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from . import health
from .auth import require_token
from .context import hostwatch
from .hostmetrics import CachedHost
from .release import Release

bp = Blueprint("metrics", __name__)

# Not registered anywhere by default: each scrape decides how to collect them (see module doc).
REQUESTS = Counter(
    "hostwatch_http_requests",
    "HTTP requests served, by route and status",
    ["method", "route", "status"],
    registry=None,
)
LATENCY = Histogram(
    "hostwatch_http_request_duration_seconds",
    "Time to produce the response (for streams: until the headers)",
    ["method", "route"],
    registry=None,
)


class HostCollector(Collector):
    def __init__(self, host: CachedHost) -> None:
        self.host = host

    def collect(self) -> Iterator[Metric]:
        fig = self.host.get()
        yield GaugeMetricFamily(
            "hostwatch_load_per_core", "1-minute load average per CPU", fig.load_per_core
        )
        yield GaugeMetricFamily(
            "hostwatch_memory_used_percent", "Memory in use", fig.memory_percent
        )
        yield GaugeMetricFamily("hostwatch_swap_used_percent", "Swap in use", fig.swap_percent)
        yield GaugeMetricFamily(
            "hostwatch_uptime_seconds", "Seconds since boot", fig.uptime_seconds
        )
        disk = GaugeMetricFamily(
            "hostwatch_disk_used_percent",
            "Disk space in use per configured mount",
            labels=["mount"],
        )
        for mount, used in fig.disk_percent.items():
            if used is not None:
                disk.add_metric([mount], used)
        yield disk


STATUSES = ("pass", "warn", "fail")


class HealthCollector(Collector):
    """/health's overall status and each check's, one series per status (1 for the current one, as
    kube-state-metrics does for phases): an alert or a table selects `== 1`, and a check that
    changes status changes a value, not which series exist. Built from the same cached figures as
    /health, so the two agree."""

    def collect(self) -> Iterator[Metric]:
        body = health.document()
        overall = GaugeMetricFamily(
            "hostwatch_health_status", "/health's status (1: the current one)", labels=["status"]
        )
        for status in STATUSES:
            overall.add_metric([status], float(body["status"] == status))
        yield overall
        checks = GaugeMetricFamily(
            "hostwatch_health_check_status",
            "Each /health check's status, by check and component (1: the current one)",
            labels=["check", "component", "status"],
        )
        for name, entries in body["checks"].items():
            for entry in entries:
                for status in STATUSES:
                    labels = [name, entry.get("componentId", ""), status]
                    checks.add_metric(labels, float(entry["status"] == status))
        yield checks


class ReleaseCollector(Collector):
    def __init__(self, release: Release) -> None:
        self.release = release

    def collect(self) -> Iterator[Metric]:
        yield InfoMetricFamily(
            "hostwatch_release",
            "The release this service runs",
            value={"release": self.release.id or "unknown", "version": self.release.version},
        )
        yield GaugeMetricFamily(
            "hostwatch_release_start_time_seconds",
            "When the service started serving its release (Unix time)",
            self.release.started_at,
        )


@bp.before_app_request
def _start_timer() -> None:
    g.hostwatch_started = time.perf_counter()


# Every label value comes from a bounded set: a client picks the method and the path, so either
# taken as sent would let it grow the series (and the multiprocess files) without end.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"})


# The two series of each label set, found again with one dict lookup: labels() takes a lock and
# checks its arguments on every call, a measurable share of a /health request. Bounded like the
# label values.
_series: dict[tuple[str, str, str], tuple[Counter, Histogram]] = {}


@bp.after_app_request
def _count(response: Response) -> Response:
    method = request.method if request.method in KNOWN_METHODS else "other"
    # the route template, not the path, so unknown URLs cannot blow up label cardinality
    rule = request.url_rule
    route = rule.rule if rule else "<unmatched>"
    code = response.status_code
    key = (method, route, str(code) if 100 <= code <= 599 else "other")
    series = _series.get(key)
    if series is None:
        series = _series.setdefault(key, (REQUESTS.labels(*key), LATENCY.labels(method, route)))
    series[0].inc()
    started = g.get("hostwatch_started")
    if started is not None:
        series[1].observe(time.perf_counter() - started)
    return response


@bp.get("/metrics")
def metrics() -> Response:
    hw = hostwatch()
    if hw.config.auth.protect_metrics:
        require_token()
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(HostCollector(hw.host))
    registry.register(HealthCollector())
    registry.register(ReleaseCollector(hw.release))
    return Response(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
