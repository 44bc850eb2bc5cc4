"""The declarative base, UTC timestamps, SQLite tuning and PostgreSQL's connection check shared by every model."""

from __future__ import annotations

import select
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, Column, DateTime, LargeBinary, MetaData, String, event
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, registry
from sqlalchemy.pool import Pool
from sqlalchemy.types import TypeDecorator

# Named constraints, so that Alembic migrations (and batch mode on SQLite) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC and hands back aware UTC, so SQLite and PostgreSQL behave the same."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; Farewell stores aware UTC times only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Model(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )

    #: The columns that hold a customer's personal data (their name, address, words, or text naming them):
    #: export shows them, erasure and retention clear them. The one declaration privacy reads.
    personal_data: ClassVar[tuple[str, ...]] = ()
    #: The text columns declared to hold no customer's data (states, keys, staff's own records), so that a new
    #: column says one or the other: `tests/test_privacy_registry.py` fails on one that says neither.
    not_personal_data: ClassVar[tuple[str, ...]] = ()


#: Column types that can hold what a person wrote or is called.
TEXT_TYPES = (String, JSON, LargeBinary)


def personal_columns(model: type[Model]) -> list[Column[Any]]:
    """The declared personal columns of one model, in table order."""
    table = model.__table__
    return [column for column in table.columns if column.name in model.personal_data]  # type: ignore[attr-defined]


def models_with_personal_data() -> Iterator[type[Model]]:
    """Every mapped model that declares a personal column, in a stable order."""
    for mapper in sorted(Model.registry.mappers, key=lambda m: m.class_.__name__):
        if mapper.class_.personal_data:
            yield mapper.class_


def undeclared_columns() -> list[str]:
    """`table.column` for every text, JSON or binary column that is neither declared personal nor not personal,
    and for every declared name that is no column (a rename that forgot its declaration)."""
    wrong = []
    for mapper in Model.registry.mappers:
        model, table = mapper.class_, mapper.local_table
        names = {column.name for column in table.columns}
        for name in set(model.personal_data) | set(model.not_personal_data):
            if name not in names:
                wrong.append(f"{table.name}.{name} (declared, but no such column)")
        for name in set(model.personal_data) & set(model.not_personal_data):
            wrong.append(f"{table.name}.{name} (declared both personal and not personal)")
        for column in table.columns:
            declared = column.name in model.personal_data or column.name in model.not_personal_data
            if isinstance(column.type, TEXT_TYPES) and not declared:
                wrong.append(f"{table.name}.{column.name}")
    return sorted(wrong)


def enable_sqlite_tuning() -> None:
    """Registered once per process from `create_app`; the listener ignores other databases."""
    if not event.contains(Engine, "connect", _tune_sqlite):
        event.listen(Engine, "connect", _tune_sqlite)


def _tune_sqlite(dbapi_connection: Any, connection_record: Any) -> None:
    """WAL lets readers work while a writer commits; foreign keys are off in SQLite unless asked for.

    With WAL, synchronous=NORMAL (SQLite's recommendation) syncs at checkpoints rather than at every commit: a
    commit survives the process dying, and only a power loss or OS crash may roll back the last few. It makes a
    commit about 400 times cheaper here, which the outbox worker's commit per message needs (see delivery).
    """
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def enable_postgresql_liveness_check() -> None:
    """Registered once per process from `create_app`, instead of the pool's pre-ping; ignores other databases."""
    if not event.contains(Pool, "checkout", _still_connected):
        event.listen(Pool, "checkout", _still_connected)


def _still_connected(dbapi_connection: Any, connection_record: Any, connection_proxy: Any) -> None:
    """A pooled PostgreSQL connection the server has closed (a restart, an idle timeout, pg_terminate_backend) is
    swapped for a new one before a request uses it, as `pool_pre_ping` would, without its round trip.

    Pre-ping sends `SELECT 1` at every checkout: a fifth of the survey page's database time, and work for
    PostgreSQL on every request. An idle connection in the pool has nothing to read unless the server spoke
    first, and a server closing it says goodbye (or the socket reads as ended): so a socket that is readable at
    checkout, asked without waiting, is dropped and replaced. (The server's rare unasked notice costs a
    reconnect; a connection lost without a word from the server, a cable pulled, still fails its request, and
    `pool_recycle` bounds how long such a one is kept.)
    """
    pgconn = getattr(dbapi_connection, "pgconn", None)
    if pgconn is None:
        return
    if dbapi_connection.closed or select.select([pgconn.socket], [], [], 0)[0]:
        raise DisconnectionError("PostgreSQL closed this pooled connection")
