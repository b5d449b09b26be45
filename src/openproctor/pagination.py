"""Keyset pagination for the REST API's lists.

In: `limit` (default 100, at most 500) and `cursor`, the opaque value the previous page gave.
Out: the page as the body, a JSON array exactly as before pagination, and the next page's
cursor in the `X-Next-Cursor` header and a `Link: <...>; rel="next"` header (none on the last
page). Keeping the body an array keeps every client written before pagination working
unchanged on lists that fit one page; a client reads the header to walk longer ones.

A page is the rows strictly after the last row of the previous page in a stable order
(columns that never change, ending in the primary key), never an OFFSET: rows added or removed
between two requests neither repeat nor skip the rows already listed, and the database walks
an index instead of counting past the rows it skips.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Depends, Query, Request, Response
from sqlalchemy import ColumnElement, Select, TypeDecorator, and_, or_
from sqlalchemy.orm import InstrumentedAttribute, Session

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
NEXT_CURSOR_HEADER = "X-Next-Cursor"
MAX_CURSOR_CHARS = 512
CURSOR_VERSION = 1

OrderColumn = InstrumentedAttribute[Any]
T = TypeVar("T")
Item = TypeVar("Item")
Q = TypeVar("Q", bound=Select[*tuple[Any, ...]])


class BadCursor(ValueError):
    """A cursor this list did not give out (edited, truncated, or from another list): 422."""


@dataclass(frozen=True)
class PageRequest:
    limit: int
    cursor: str | None


def page_request(
    limit: Annotated[
        int,
        Query(ge=1, le=MAX_LIMIT, description=f"Rows per page (at most {MAX_LIMIT})."),
    ] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_CHARS,
            description=f"The {NEXT_CURSOR_HEADER} header of the previous page; "
            "leave out for the first page.",
        ),
    ] = None,
) -> PageRequest:
    return PageRequest(limit=limit, cursor=cursor)


PageParams = Annotated[PageRequest, Depends(page_request)]


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


def keyset(
    query: Q, order: Sequence[OrderColumn], page: PageRequest, *, descending: bool = False
) -> Q:
    """The query limited to one page after the cursor, in `order` (ascending or descending on
    every column; the last column must be unique). Fetches one row more than the page, which
    tells `page_of` whether another page follows."""
    if page.cursor is not None:
        after = _decode(page.cursor, order)
        query = query.where(_beyond(order, after, descending))
    sort = [column.desc() if descending else column.asc() for column in order]
    return query.order_by(*sort).limit(page.limit + 1)


def page_of(
    rows: Sequence[T],
    page: PageRequest,
    order: Sequence[OrderColumn],
    key: Callable[[T], object] = lambda row: row,
) -> Page[T]:
    """The page of the rows a `keyset` query returned; `key` gives the row's mapped object
    (the first entity of a multi-entity row) whose `order` values make the next cursor."""
    items = list(rows[: page.limit])
    if len(rows) <= page.limit:
        return Page(items=items, next_cursor=None)
    last = key(items[-1])
    return Page(items=items, next_cursor=_encode(order, [getattr(last, c.key) for c in order]))


def scalars_page(
    db: Session,
    query: Select[T],
    order: Sequence[OrderColumn],
    page: PageRequest,
    *,
    descending: bool = False,
) -> Page[T]:
    """One page of a query for one mapped class: `keyset`, run, `page_of`."""
    rows = db.scalars(keyset(query, order, page, descending=descending)).all()
    return page_of(rows, page, order)


def send_page(
    request: Request, response: Response, page: Page[Any], items: list[Item]
) -> list[Item]:
    """The page's `items` (already shaped for the answer) as the body, with the next cursor
    in the headers."""
    if page.next_cursor is not None:
        response.headers[NEXT_CURSOR_HEADER] = page.next_cursor
        following = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return items


def _beyond(
    order: Sequence[OrderColumn], after: list[object], descending: bool
) -> ColumnElement[bool]:
    # (a, b) > (x, y) spelled out as a > x OR (a = x AND b > y): the same plan on SQLite and
    # PostgreSQL, and nothing depends on row-value support.
    clauses = []
    for position, column in enumerate(order):
        equal = [order[i] == after[i] for i in range(position)]
        step = column < after[position] if descending else column > after[position]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


def _signature(order: Sequence[OrderColumn]) -> str:
    """Which list and order a cursor belongs to, so one from another list is refused."""
    return ",".join(f"{column.class_.__tablename__}.{column.key}" for column in order)


def _encode(order: Sequence[OrderColumn], values: list[Any]) -> str:
    plain = [value.isoformat() if isinstance(value, datetime) else str(value) for value in values]
    data = json.dumps({"v": CURSOR_VERSION, "o": _signature(order), "k": plain})
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def _decode(cursor: str, order: Sequence[OrderColumn]) -> list[object]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if data["v"] != CURSOR_VERSION or data["o"] != _signature(order):
            raise BadCursor("this cursor belongs to another list")
        values = data["k"]
        if not isinstance(values, list) or len(values) != len(order):
            raise BadCursor("this cursor is incomplete")
        return [_typed(column, value) for column, value in zip(order, values, strict=True)]
    except BadCursor:
        raise
    except (binascii.Error, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise BadCursor("this cursor is not one the server gave out") from error


def _typed(column: OrderColumn, value: object) -> object:
    if not isinstance(value, str):
        raise BadCursor("this cursor is not one the server gave out")
    stored = column.type
    # A TypeDecorator (our UTCDateTime) says "object": the type it stores says what it holds.
    kind = (stored.impl_instance if isinstance(stored, TypeDecorator) else stored).python_type
    if kind is datetime:
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise BadCursor("this cursor is not one the server gave out")
        return moment
    if kind is uuid.UUID:
        return uuid.UUID(value)
    if kind is str:
        return value
    raise NotImplementedError(f"{column} cannot order a page")  # our mistake, not the client's
