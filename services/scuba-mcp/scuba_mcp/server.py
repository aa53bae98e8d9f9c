"""An MCP server (official SDK, streamable HTTP) backed by PostgreSQL."""

from __future__ import annotations

import os
import time
from typing import Any

import psycopg
from mcp.server import MCPServer
from psycopg.rows import dict_row

SCHEMA = """
CREATE TABLE IF NOT EXISTS dive_sites (
    id serial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    country text NOT NULL,
    max_depth_m real NOT NULL
);
CREATE TABLE IF NOT EXISTS dive_logs (
    id serial PRIMARY KEY,
    site_id integer NOT NULL REFERENCES dive_sites(id),
    depth_m real NOT NULL,
    minutes integer NOT NULL,
    notes text NOT NULL DEFAULT '',
    logged_at timestamptz NOT NULL DEFAULT now()
);
"""
SEED = [
    ("Blue Hole", "Belize", 124.0),
    ("SS Thistlegorm", "Egypt", 32.0),
    ("Barracuda Point", "Malaysia", 40.0),
]

mcp = MCPServer("react-scuba-dives")


def connect(*, read_only: bool = False) -> psycopg.Connection[dict[str, Any]]:
    """The primary; for ``read_only`` work, the read replica when ``PGHOST_READ`` names one
    (it may lag the primary by a moment: a row just written can take that long to show)."""
    host = os.environ.get("PGHOST", "postgres")
    if read_only:
        host = os.environ.get("PGHOST_READ") or host
    return psycopg.connect(
        host=host,
        port=int(os.environ.get("PGPORT", "5432")),
        user=os.environ.get("PGUSER", "scuba"),
        password=os.environ.get("PGPASSWORD", ""),
        dbname=os.environ.get("PGDATABASE", "scuba"),
        connect_timeout=5,
        row_factory=dict_row,
    )


@mcp.tool()
def list_dive_sites() -> list[dict[str, Any]]:
    """Every dive site, deepest first."""
    with connect(read_only=True) as db:
        return db.execute(
            "SELECT name, country, max_depth_m FROM dive_sites ORDER BY max_depth_m DESC"
        ).fetchall()


@mcp.tool()
def add_dive_site(name: str, country: str, max_depth_m: float) -> dict[str, Any]:
    """Add a dive site (its name must be new)."""
    with connect() as db:
        row = db.execute(
            "INSERT INTO dive_sites (name, country, max_depth_m) VALUES (%s, %s, %s) "
            "RETURNING id, name, country, max_depth_m",
            (name, country, max_depth_m),
        ).fetchone()
    assert row is not None
    return row


@mcp.tool()
def search_dive_sites(query: str) -> list[dict[str, Any]]:
    """Dive sites whose name or country contains the query (case-insensitive)."""
    pattern = f"%{query}%"
    with connect(read_only=True) as db:
        return db.execute(
            "SELECT name, country, max_depth_m FROM dive_sites "
            "WHERE name ILIKE %s OR country ILIKE %s ORDER BY name",
            (pattern, pattern),
        ).fetchall()


@mcp.tool()
def log_dive(site: str, depth_m: float, minutes: int, notes: str = "") -> dict[str, Any]:
    """Log a dive at a known site."""
    with connect() as db:
        found = db.execute("SELECT id FROM dive_sites WHERE name = %s", (site,)).fetchone()
        if found is None:
            raise ValueError(f"unknown dive site {site!r}")
        row = db.execute(
            "INSERT INTO dive_logs (site_id, depth_m, minutes, notes) VALUES (%s, %s, %s, %s) "
            "RETURNING id, depth_m, minutes, notes",
            (found["id"], depth_m, minutes, notes),
        ).fetchone()
    assert row is not None
    return {"site": site, **row}


@mcp.tool()
def list_dive_logs(site: str | None = None) -> list[dict[str, Any]]:
    """Logged dives, newest first, optionally for one site."""
    with connect(read_only=True) as db:
        return db.execute(
            "SELECT s.name AS site, l.depth_m, l.minutes, l.notes FROM dive_logs l "
            "JOIN dive_sites s ON s.id = l.site_id WHERE %s::text IS NULL OR s.name = %s "
            "ORDER BY l.id DESC",
            (site, site),
        ).fetchall()


def prepare_database(deadline: float = 60.0) -> None:
    """Create the schema and seed sites; retry while PostgreSQL is not there yet."""
    give_up = time.monotonic() + deadline
    while True:
        try:
            with connect() as db:  # one transaction; replicas starting together take turns
                db.execute("SELECT pg_advisory_xact_lock(7469)")
                db.execute(SCHEMA)
                for site in SEED:
                    db.execute(
                        "INSERT INTO dive_sites (name, country, max_depth_m) VALUES (%s, %s, %s) "
                        "ON CONFLICT (name) DO NOTHING",
                        site,
                    )
            return
        except psycopg.OperationalError:
            if time.monotonic() > give_up:
                raise
            time.sleep(0.5)


def main() -> None:
    prepare_database()
    mcp.run(
        transport="streamable-http",
        host=os.environ.get("MCP_HOST", "0.0.0.0"),  # noqa: S104 - serves the stack network
        port=int(os.environ.get("MCP_PORT", "8000")),
        # Replicas behind a load balancer: every request stands alone (no session to pin).
        stateless_http=os.environ.get("MCP_STATELESS", "").lower() in ("1", "true", "yes"),
    )
