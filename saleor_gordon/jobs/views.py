"""The job table as operators and the Dashboard read it: lists, counts, one job with its history.

Reads only; every write is the queue's (``jobs/queue.py``). A job's last message and each history
entry are read as ``{code, params, message}`` (``said``): the code and parameters of
``core/messages.py`` beside the English text. Rows written before codes existed have no code:
their English text is all there is, and ``said`` gives it with ``code`` None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import RowMapping, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from saleor_gordon.core.order_events import event_names
from saleor_gordon.core.sync_decision import SentBefore
from saleor_gordon.json_text import JsonUnusable, parse_json
from saleor_gordon.store.error_mapping import map_database_errors
from saleor_gordon.store.tables import installations, job_history, sync_jobs


@dataclass(frozen=True)
class JobView:
    """A job as operators and the Dashboard see it."""

    id: int
    saleor_api_url: str
    order_id: str
    order_number: str | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_action: str | None
    last_outcome: str | None
    last_message: str | None
    external_ref: str | None
    tracking_id: str | None
    events_seen: list[str]
    created_at: datetime
    updated_at: datetime
    leased: bool
    delivery_date: str | None = None
    time_window: str | None = None
    last_attempt_at: datetime | None = None
    pushed_hash: str | None = None
    """Hash of the content Gordon accepted last (internal: not in ``to_dict``)."""
    pushed_at: datetime | None = None
    pushed_delivery_date: date | None = None
    fulfillment_state: str | None = None
    """Where the order's fulfillment stands (``core.fulfillment.FulfillmentState``); None: the
    app has not looked at its fulfillments yet."""
    fulfillment_message: str | None = None
    """Why, in English (``fulfillment_code``/``fulfillment_params``: the same as a code)."""
    history: list[dict[str, Any]] = field(default_factory=list)
    """Oldest first: ``at``, ``attempt``, ``action``, ``outcome``, ``message`` (English), and the
    message's ``code`` and ``params`` (None in entries written before codes existed)."""
    last_code: str | None = None
    """``last_message``'s code (``core.messages``); None when it was written before codes."""
    last_params: dict[str, Any] | None = None
    fulfillment_code: str | None = None
    """``fulfillment_message``'s code (``core.messages.FULFILLMENT_REASONS``); None when it was
    written before the reason was coded."""
    fulfillment_params: dict[str, Any] | None = None

    @property
    def last_said(self) -> dict[str, Any] | None:
        """The last message as ``{code, params, message}``, or None when there is none."""
        return said(self.last_message, self.last_code, self.last_params)

    @property
    def fulfillment_said(self) -> dict[str, Any] | None:
        """The fulfillment's reason as ``{code, params, message}``, or None when there is none."""
        return said(self.fulfillment_message, self.fulfillment_code, self.fulfillment_params)

    @property
    def sent_before(self) -> SentBefore:
        return SentBefore(
            external_ref=self.external_ref,
            pushed_at=self.pushed_at,
            pushed_hash=self.pushed_hash,
            pushed_delivery_date=self.pushed_delivery_date,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "saleor_api_url": self.saleor_api_url,
            "order_id": self.order_id,
            "order_number": self.order_number,
            "status": self.status,
            "attempts": self.attempts,
            "next_attempt_at": _iso(self.next_attempt_at),
            "last_action": self.last_action,
            "last_outcome": self.last_outcome,
            "last_message": self.last_message,
            "external_ref": self.external_ref,
            "tracking_id": self.tracking_id,
            "events_seen": self.events_seen,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
            "last_attempt_at": _iso(self.last_attempt_at),
            "delivery_date": self.delivery_date,
            "time_window": self.time_window,
            "in_progress": self.leased,
            "fulfillment_state": self.fulfillment_state,
            "fulfillment_message": self.fulfillment_message,
            "history": self.history,
            "last_code": self.last_code,
            "last_params": self.last_params,
            "fulfillment_code": self.fulfillment_code,
            "fulfillment_params": self.fulfillment_params,
        }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


class JobViews:
    """Reading sync jobs and their history."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_job(self, job_id: int, *, installation_id: int | None = None) -> JobView | None:
        """The job with its history; with ``installation_id``, only a job of that installation."""
        query = _view_query().where(sync_jobs.c.id == job_id)
        if installation_id is not None:
            query = query.where(sync_jobs.c.installation_id == installation_id)
        async with map_database_errors(), self._engine.connect() as connection:
            row = (await connection.execute(query)).first()
            if row is None:
                return None
            history = (
                await connection.execute(
                    select(job_history)
                    .where(job_history.c.job_id == job_id)
                    .order_by(job_history.c.at, job_history.c.id)
                )
            ).all()
        view = _view_from_row(row._mapping)
        view.history.extend(_history_entry(entry._mapping) for entry in history)
        return view

    async def find_job(self, installation_id: int, order_id: str) -> JobView | None:
        async with map_database_errors(), self._engine.connect() as connection:
            row = (
                await connection.execute(
                    select(sync_jobs.c.id).where(
                        sync_jobs.c.installation_id == installation_id,
                        sync_jobs.c.order_id == order_id,
                    )
                )
            ).first()
        return None if row is None else await self.get_job(row._mapping["id"])

    async def list_jobs(
        self,
        *,
        status: str | None = None,
        saleor_api_url: str | None = None,
        installation_id: int | None = None,
        search: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[JobView]:
        """Jobs, most recently changed first, filtered and paginated in the database.

        ``search`` matches an order number (exactly, or as a prefix), an order id, a tracking id
        or an external reference.
        """
        query = _filtered(_view_query(), status, saleor_api_url, installation_id, search)
        query = query.order_by(sync_jobs.c.updated_at.desc(), sync_jobs.c.id.desc())
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query.limit(limit).offset(offset))).all()
        return [_view_from_row(row._mapping) for row in rows]

    async def count_jobs(
        self,
        *,
        status: str | None = None,
        installation_id: int | None = None,
        search: str | None = None,
    ) -> int:
        """How many jobs ``list_jobs`` would page through with the same filters."""
        query = _filtered(
            select(func.count()).select_from(
                sync_jobs.join(installations, installations.c.id == sync_jobs.c.installation_id)
            ),
            status,
            None,
            installation_id,
            search,
        )
        async with map_database_errors(), self._engine.connect() as connection:
            return int((await connection.execute(query)).scalar_one())

    async def count_by_status(self, *, installation_id: int | None = None) -> dict[str, int]:
        query = select(sync_jobs.c.status, func.count()).group_by(sync_jobs.c.status)
        if installation_id is not None:
            query = query.where(sync_jobs.c.installation_id == installation_id)
        async with map_database_errors(), self._engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return {row[0]: int(row[1]) for row in rows}

    async def due_jobs(self, *, now: datetime) -> tuple[int, datetime | None]:
        """Jobs due at ``now`` that no worker holds, revoked installations' aside (what a claim
        would consider): how many, and when the oldest of them became due."""
        query = (
            select(func.count(), func.min(sync_jobs.c.next_attempt_at))
            .select_from(
                sync_jobs.join(installations, installations.c.id == sync_jobs.c.installation_id)
            )
            .where(
                sync_jobs.c.next_attempt_at.is_not(None),
                sync_jobs.c.next_attempt_at <= now,
                or_(sync_jobs.c.lease_expires_at.is_(None), sync_jobs.c.lease_expires_at < now),
                installations.c.revoked_at.is_(None),
            )
        )
        async with map_database_errors(), self._engine.connect() as connection:
            count, oldest = (await connection.execute(query)).one()
        return int(count), oldest

    async def count_stuck(self, installation_id: int, *, before: datetime) -> tuple[int, int]:
        """Jobs no worker took up: ``(leases expired before `before`, due since before it)``.

        A lease that expired long ago means its worker died and no other worker took the job
        over; a job due long ago and never claimed means no worker runs at all.
        """
        stale_lease = sync_jobs.c.lease_expires_at < before
        overdue = (
            sync_jobs.c.lease_expires_at.is_(None)
            & sync_jobs.c.next_attempt_at.is_not(None)
            & (sync_jobs.c.next_attempt_at < before)
        )
        query = select(func.count().filter(stale_lease), func.count().filter(overdue)).where(
            sync_jobs.c.installation_id == installation_id
        )
        async with map_database_errors(), self._engine.connect() as connection:
            row = (await connection.execute(query)).one()
        return int(row[0]), int(row[1])


def _view_query() -> Any:
    last_attempt = (
        select(func.max(job_history.c.at))
        .where(job_history.c.job_id == sync_jobs.c.id)
        .scalar_subquery()
        .label("last_attempt_at")
    )
    return select(sync_jobs, installations.c.saleor_api_url, last_attempt).join(
        installations, installations.c.id == sync_jobs.c.installation_id
    )


def _filtered(
    query: Any,
    status: str | None,
    saleor_api_url: str | None,
    installation_id: int | None,
    search: str | None,
) -> Any:
    if status is not None:
        query = query.where(sync_jobs.c.status == status)
    if saleor_api_url is not None:
        query = query.where(installations.c.saleor_api_url == saleor_api_url)
    if installation_id is not None:
        query = query.where(sync_jobs.c.installation_id == installation_id)
    term = (search or "").strip().removeprefix("#")
    if term:
        escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                sync_jobs.c.order_number.like(escaped + "%", escape="\\"),
                sync_jobs.c.order_id == term,
                sync_jobs.c.tracking_id == term,
                sync_jobs.c.external_ref == term,
            )
        )
    return query


def _view_from_row(row: RowMapping) -> JobView:
    return JobView(
        id=row["id"],
        saleor_api_url=row["saleor_api_url"],
        order_id=row["order_id"],
        order_number=row["order_number"],
        status=row["status"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_action=row["last_action"],
        last_outcome=row["last_outcome"],
        last_message=row["last_message"],
        external_ref=row["external_ref"],
        tracking_id=row["tracking_id"],
        events_seen=sorted(event_names(row["events_mask"])),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        leased=row["lease_owner"] is not None,
        delivery_date=_iso_date(row["pushed_delivery_date"]),
        time_window=row["pushed_time_window"],
        pushed_delivery_date=row["pushed_delivery_date"],
        last_attempt_at=row["last_attempt_at"],
        pushed_hash=row["pushed_hash"],
        pushed_at=row["pushed_at"],
        fulfillment_state=row["fulfillment_state"],
        fulfillment_message=row["fulfillment_message"],
        **_coded(row["last_code"], row["last_params"], prefix="last_"),
        **_coded(row["fulfillment_code"], row["fulfillment_params"], prefix="fulfillment_"),
    )


def _history_entry(row: RowMapping) -> dict[str, Any]:
    return {
        "at": row["at"].isoformat(),
        "attempt": row["attempt"],
        "action": row["action"],
        "outcome": row["outcome"],
        "message": row["message"],
        **_coded(row["code"], row["params"], prefix=""),
    }


def _coded(code: str | None, params_text: str | None, *, prefix: str) -> dict[str, Any]:
    """A stored message's code and parameters; both None for a row written before codes existed
    (or one whose parameters cannot be read: its English text still can)."""
    params: object = None
    if code is not None and params_text is not None:
        try:
            params = parse_json(params_text)
        except JsonUnusable:
            params = None
    if not isinstance(params, dict):
        return {f"{prefix}code": None, f"{prefix}params": None}
    return {f"{prefix}code": code, f"{prefix}params": params}


def said(
    english: str | None, code: str | None, params: dict[str, Any] | None
) -> dict[str, Any] | None:
    """A stored message as served to the pages: ``{code, params, message}``; an entry written
    before codes existed has code None and its English text as ``message``; None when nothing
    was written."""
    if english is None and code is None:
        return None
    if code is None or params is None:
        return {"code": None, "params": {}, "message": english or ""}
    return {"code": code, "params": params, "message": english or ""}


def _iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()
