"""Choosing a store from one command-line word: ``--state sqlite|memory|PATH|DSN``."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import platformdirs

from apitwin.state.memory import MemoryStore
from apitwin.state.sqlite import SQLiteStore
from apitwin.state.store import Store

__all__ = ["default_data_dir", "open_store", "redact_dsn"]

SQLITE_SUFFIXES = (".sqlite", ".sqlite3", ".db")
POSTGRES_SCHEMES = ("postgresql://", "postgres://")
DEFAULT_SQLITE_NAME = "apitwin.sqlite3"


def default_data_dir() -> Path:
    """Where the default SQLite file lives: the user's data directory, so state outlives
    the working directory a twin was started from."""
    return platformdirs.user_data_path("apitwin")


def redact_dsn(dsn: str) -> str:
    """The DSN without its password (in the authority or as a query parameter), fit for
    an error message or a log line."""
    try:
        parts = urlsplit(dsn)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hosts = netloc.rpartition("@")
            user = userinfo.split(":", 1)[0]
            netloc = f"{user}@{hosts}" if user else hosts
        query = urlencode(
            [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "password"]
        )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return dsn.split("://", 1)[0] + "://..."


def open_store(spec: str, data_dir: Path) -> Store:
    """The store ``spec`` names: ``sqlite`` (the default, ``data_dir/apitwin.sqlite3``),
    ``memory``, a file ending in .sqlite/.sqlite3/.db, or a ``postgresql://`` DSN.
    Anything wrong (an unknown word, a file that cannot be opened, a server that cannot be
    reached) is a ValueError with a one-line message."""
    word = spec.strip()
    if word.lower() in ("", "sqlite"):
        return _open_sqlite(Path(data_dir) / DEFAULT_SQLITE_NAME)
    if word.lower() == "memory":
        return MemoryStore()
    if word.lower().startswith(POSTGRES_SCHEMES):
        return _open_postgres(word)
    if word.lower().endswith(SQLITE_SUFFIXES):
        return _open_sqlite(Path(word).expanduser())
    raise ValueError(
        f"unknown state store {spec!r}: expected 'sqlite', 'memory', a file ending in "
        f"{', '.join(SQLITE_SUFFIXES)}, or a postgresql:// URL"
    )


def _open_sqlite(path: Path) -> SQLiteStore:
    try:
        return SQLiteStore(path)
    except (OSError, sqlite3.Error) as exc:
        raise ValueError(f"cannot open SQLite state file {path}: {exc}") from exc


def _open_postgres(dsn: str) -> Store:
    shown = redact_dsn(dsn)
    try:
        import psycopg

        from apitwin.state.postgres import PostgresStore
    except ImportError as exc:
        raise ValueError(
            f"cannot use PostgreSQL state {shown}: psycopg is not installed "
            "(pip install 'psycopg[binary]')"
        ) from exc
    try:
        return PostgresStore(dsn)
    except psycopg.Error as exc:
        # libpq messages name host and port but never the password; strip it anyway in
        # case a server or driver ever echoes the connection string.
        password = urlsplit(dsn).password if "://" in dsn else None
        reason = " ".join(str(exc).split())
        if password:
            reason = reason.replace(password, "***")
        raise ValueError(f"cannot use PostgreSQL state {shown}: {reason}") from exc
