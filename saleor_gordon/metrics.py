"""Prometheus metrics (``/metrics``): what this process counted and what the database holds.

Counters and histograms (webhooks, Gordon and Saleor call latency, retries, write-backs) are this
process's own, in ``REGISTRY``: a scrape of ``/metrics`` sees the web process's, which in the
embedded setup (``serve``) are also its workers'. Separate ``worker`` processes count theirs in
their own memory, which no endpoint serves. The job gauges (jobs by state, queue depth, age of the
oldest due job) are computed from the database at scrape time, so they are right however many
processes share it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from saleor_gordon.core.job_status import JobStatus

REGISTRY = CollectorRegistry()

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

WEBHOOKS = Counter(
    "saleor_gordon_webhooks",
    "Order webhooks received, by event and outcome (accepted, duplicate, ignored, rejected).",
    ["event", "outcome"],
    registry=REGISTRY,
)
GORDON_REQUESTS = Histogram(
    "saleor_gordon_gordon_request_seconds",
    "Latency of requests to Gordon, by method and outcome (HTTP status class or error).",
    ["method", "outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
SALEOR_REQUESTS = Histogram(
    "saleor_gordon_saleor_request_seconds",
    "Latency of GraphQL requests to Saleor, by operation and outcome (ok or error).",
    ["operation", "outcome"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
RETRIES = Counter(
    "saleor_gordon_job_retries",
    "Job attempts that ended with a retry scheduled.",
    registry=REGISTRY,
)
WRITE_BACKS = Counter(
    "saleor_gordon_write_backs",
    "Metadata write-backs to Saleor orders, by outcome (written or failed).",
    ["outcome"],
    registry=REGISTRY,
)


def status_class(status: int) -> str:
    """``200`` -> ``2xx``: the outcome label of an HTTP answer."""
    return f"{status // 100}xx"


def render(
    jobs_by_state: Mapping[str, int], due_jobs: int, oldest_due: datetime | None, *, now: datetime
) -> bytes:
    """The exposition text: this process's counters, then the database's gauges."""
    database = CollectorRegistry()
    jobs = Gauge(
        "saleor_gordon_jobs",
        "Sync jobs by state (from the database).",
        ["state"],
        registry=database,
    )
    for state in JobStatus:
        jobs.labels(state.value).set(jobs_by_state.get(state.value, 0))
    Gauge(
        "saleor_gordon_queue_depth",
        "Jobs due now and not leased (from the database).",
        registry=database,
    ).set(due_jobs)
    age = 0.0 if oldest_due is None else max((now - oldest_due).total_seconds(), 0.0)
    Gauge(
        "saleor_gordon_oldest_due_job_age_seconds",
        "How long the oldest due job has been due, 0 when none is (from the database).",
        registry=database,
    ).set(age)
    return generate_latest(REGISTRY) + generate_latest(database)
