"""The database errors a caller may meet from either backend (a lock, a full disk, a server
gone), to catch them without naming the backend."""

from __future__ import annotations

import sqlite3

import psycopg

OperationalError = (sqlite3.OperationalError, psycopg.OperationalError)
DatabaseError = (sqlite3.Error, psycopg.Error)
