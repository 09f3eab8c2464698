"""PostgreSQL tables partitioned by the value of one column, and partitions filled and
indexed *before* they join their table.

Why: a commission run stores millions of rows. Copied into a table that already holds
other runs, every row also goes into each index of that table, one entry at a time,
and the whole copy is one backend's work. Copied instead into a table of its own with
no index, then indexed in one sorted pass, the same rows take about half the time, and
the tables of one run are filled side by side on their own connections. The finished
table then joins the partitioned table with ``ATTACH PARTITION`` inside the caller's
transaction: its rows appear to everyone at that commit and not before, exactly as if
they had been inserted in it (a crash before leaves a table that is no partition and
that nothing reads; ``drop_unattached`` removes it).

Layout made by :func:`partition_by_list`: the table partitioned by LIST of ``key``, one
partition per value named ``<table>_p<value>`` (:func:`partition_name`) and a DEFAULT
partition ``<table>_default`` for rows whose value has no partition of its own (rows
inserted one by one, e.g. by the ORM). The primary key becomes (pk, key): PostgreSQL
needs the partition key in every unique constraint; the pk values stay unique (one
sequence), and no foreign key may point at the table (they need a unique constraint on
the referenced columns alone).

Everything here is PostgreSQL only; callers check ``connection.vendor``.
"""

from __future__ import annotations

import re
from typing import Any

from django.db import connection


def _q(name: str) -> str:
    return str(connection.ops.quote_name(name))


def partition_name(table: str, value: int) -> str:
    return f"{table}_p{int(value)}"


def default_partition_name(table: str) -> str:
    return f"{table}_default"


def is_partitioned(cursor: Any, table: str) -> bool:
    cursor.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))",
        [_q(table)],
    )
    return bool(cursor.fetchone()[0])


def _unique_constraints(cursor: Any, table: str) -> list[tuple[str, str, str]]:
    """(name, kind 'p' or 'u', definition such as ``PRIMARY KEY (id)``) of ``table``."""
    cursor.execute(
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(%s) AND contype IN ('p', 'u') ORDER BY conname",
        [_q(table)],
    )
    return [(str(n), str(k), str(d)) for n, k, d in cursor.fetchall()]


def _plain_indexes(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(name, definition after ``USING``, e.g. ``btree (run_id, member_id)``) of each
    index of ``table`` that no constraint owns."""
    cursor.execute(
        "SELECT i.relname, x.indisunique, pg_get_indexdef(x.indexrelid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(%s) "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid "
        "AND c.conrelid = x.indrelid) ORDER BY i.relname",
        [_q(table)],
    )
    out: list[tuple[str, str]] = []
    for name, unique, definition in cursor.fetchall():
        if unique:  # would need the partition key, like the constraints
            raise ValueError(f"{table}: unique index {name} without a constraint")
        out.append((str(name), str(definition).split(" USING ", 1)[1]))
    return out


def _identity_sequences(cursor: Any, table: str) -> list[tuple[str, str]]:
    """(column, sequence) of each identity or serial column of ``table``."""
    cursor.execute(
        "SELECT a.attname, pg_get_serial_sequence(%s, a.attname) FROM pg_attribute a "
        "WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped "
        "AND pg_get_serial_sequence(%s, a.attname) IS NOT NULL ORDER BY a.attnum",
        [_q(table), _q(table), _q(table)],
    )
    return [(str(c), str(s)) for c, s in cursor.fetchall()]


def _with_key(definition: str, key: str) -> str:
    """A ``PRIMARY KEY (…)`` / ``UNIQUE (…)`` definition that includes ``key``."""
    head, cols = re.fullmatch(r"(.*?)\((.*)\)", definition).groups()  # type: ignore[union-attr]
    names = [c.strip() for c in cols.split(",")]
    if key not in names:
        names.append(key)
    return f"{head}({', '.join(names)})"


def _without_key(definition: str, key: str) -> str:
    head, cols = re.fullmatch(r"(.*?)\((.*)\)", definition).groups()  # type: ignore[union-attr]
    names = [c.strip() for c in cols.split(",")]
    kept = [c for c in names if c != key] or names
    return f"{head}({', '.join(kept)})"


def _referenced_by(cursor: Any, table: str) -> list[str]:
    cursor.execute(
        "SELECT conrelid::regclass::text FROM pg_constraint "
        "WHERE confrelid = to_regclass(%s) AND contype = 'f'",
        [_q(table)],
    )
    return [str(r[0]) for r in cursor.fetchall()]


def _rebuild(cursor: Any, table: str, key: str, *, partitioned: bool) -> None:
    """Replace ``table`` by a copy of itself, partitioned (or plain again), with the same
    columns, defaults, checks, identity, constraints and indexes and the same rows."""
    referencing = _referenced_by(cursor, table)
    if referencing:
        raise ValueError(f"{table} is referenced by foreign keys of {', '.join(referencing)}")
    constraints = _unique_constraints(cursor, table)
    indexes = _plain_indexes(cursor, table)
    sequences = _identity_sequences(cursor, table)
    old = f"{table}_before_rebuild"
    cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
    # Free the names the new table takes: its constraints', indexes' and sequences'.
    for name, _kind, _definition in constraints:
        cursor.execute(f"ALTER TABLE {_q(old)} DROP CONSTRAINT {_q(name)}")
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {_q(name)}")
    for column, sequence in sequences:
        cursor.execute(f"ALTER SEQUENCE {sequence} RENAME TO {_q(f'{old}_{column}_seq')}")
    tail = f" PARTITION BY LIST ({_q(key)})" if partitioned else ""
    cursor.execute(
        f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        f"INCLUDING IDENTITY INCLUDING STORAGE INCLUDING COMMENTS){tail}"
    )
    # The new identity sequences take the old names back.
    made = _identity_sequences(cursor, table)
    for (_column, sequence), (_same, new) in zip(sequences, made, strict=True):
        if new != sequence:
            cursor.execute(f"ALTER SEQUENCE {new} RENAME TO {sequence.rsplit('.', 1)[-1]}")
    for name, kind, definition in constraints:
        if partitioned:
            definition = _with_key(definition, key)
        elif kind == "p":
            definition = _without_key(definition, key)
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")
    for name, definition in indexes:
        cursor.execute(f"CREATE INDEX {_q(name)} ON {_q(table)} USING {definition}")
    if partitioned:
        cursor.execute(
            f"CREATE TABLE {_q(default_partition_name(table))} PARTITION OF {_q(table)} DEFAULT"
        )
        cursor.execute(f"SELECT DISTINCT {_q(key)} FROM {_q(old)} WHERE {_q(key)} IS NOT NULL")  # noqa: S608
        for (value,) in cursor.fetchall():
            cursor.execute(
                f"CREATE TABLE {_q(partition_name(table, value))} PARTITION OF {_q(table)} "
                f"FOR VALUES IN ({int(value)})"
            )
    cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")  # noqa: S608
    for column, _sequence in sequences:
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), m) "  # noqa: S608
            f"FROM (SELECT MAX({_q(column)}) AS m FROM {_q(table)}) t WHERE m IS NOT NULL",
            [_q(table), column],
        )
    cursor.execute(f"DROP TABLE {_q(old)} CASCADE")


def partition_by_list(cursor: Any, table: str, key: str) -> None:
    """Turn the plain ``table`` into one partitioned by LIST of ``key`` (see the module):
    a partition per value present, a DEFAULT partition, rows kept, the identity sequence
    continuing where it was. Runs in the caller's transaction."""
    if not is_partitioned(cursor, table):
        _rebuild(cursor, table, key, partitioned=True)


def unpartition(cursor: Any, table: str, key: str) -> None:
    """The reverse of :func:`partition_by_list`: a plain table with the same rows."""
    if is_partitioned(cursor, table):
        _rebuild(cursor, table, key, partitioned=False)


# --------------------------------------------------------------------------- partitions


def attached_partition(cursor: Any, table: str, value: int) -> tuple[bool, bool] | None:
    """Whether a table named as ``value``'s partition of ``table`` exists: None if not,
    else (attached, holds rows)."""
    name = partition_name(table, value)
    cursor.execute(
        "SELECT relispartition FROM pg_class WHERE oid = to_regclass(%s) AND relkind = 'r'",
        [_q(name)],
    )
    row = cursor.fetchone()
    if row is None:
        return None
    cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {_q(name)})")  # noqa: S608
    return bool(row[0]), bool(cursor.fetchone()[0])


def unattached_values(cursor: Any, table: str) -> list[int]:
    """Values of the tables named as partitions of ``table`` that are not attached (left by
    a writer that never attached them)."""
    cursor.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND NOT relispartition "
        "AND relnamespace = current_schema()::regnamespace AND starts_with(relname, %s)",
        [f"{table}_p"],
    )
    found = []
    for (name,) in cursor.fetchall():
        suffix = str(name)[len(table) + 2 :]
        if suffix.isdigit():
            found.append(int(suffix))
    return sorted(found)


def drop(cursor: Any, table: str, value: int) -> None:
    """Drop ``value``'s partition table of ``table``, attached or not, with its rows."""
    cursor.execute(f"DROP TABLE IF EXISTS {_q(partition_name(table, value))}")


def drop_unattached(cursor: Any, table: str, value: int) -> None:
    """Drop ``value``'s partition table of ``table`` if it exists and is not attached."""
    state = attached_partition(cursor, table, value)
    if state is not None and not state[0]:
        drop(cursor, table, value)


def create_unattached(cursor: Any, table: str, value: int) -> str:
    """Create ``value``'s partition table of ``table``, not attached and without indexes:
    the table's columns, defaults and checks, its identity columns drawing from the
    table's own sequences. Returns its quoted name."""
    name = _q(partition_name(table, value))
    cursor.execute(
        f"CREATE TABLE {name} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
        "INCLUDING STORAGE)"
    )
    for column, sequence in _identity_sequences(cursor, table):
        cursor.execute(
            f"ALTER TABLE {name} ALTER COLUMN {_q(column)} SET DEFAULT nextval(%s)", [sequence]
        )
    return name


RESERVE_LOCK_TIMEOUT = "2s"


def reserve_ids(cursor: Any, table: str, column: str, count: int) -> int | None:
    """The first of ``count`` consecutive values taken at once from the sequence of
    ``table``'s identity column ``column``, for rows copied with their ids: the server
    then evaluates no ``nextval`` per row (about a second per million rows). None when
    the column has no sequence, or one that steps by other than 1.

    Call it in a transaction of its own and use the values only once it has committed:
    ``ALTER SEQUENCE`` locks the sequence against every ``nextval`` until the end of the
    transaction, so nothing takes a value between reading and moving it, and undoing the
    transaction would give the values out again (the move is transactional after it).
    The lock waits for transactions that drew from the sequence to end, and inserts into
    the table queue behind it: after ``RESERVE_LOCK_TIMEOUT`` the statement fails (the
    caller then lets each row draw its own id)."""
    found = dict(_identity_sequences(cursor, table)).get(column)
    if found is None or count <= 0:
        return None
    # The increment is read before the lock: only migrations change it, and none runs
    # beside a commission run.
    cursor.execute("SELECT seqincrement FROM pg_sequence WHERE seqrelid = to_regclass(%s)", [found])
    row = cursor.fetchone()
    if row is None or int(row[0]) != 1:
        return None
    cursor.execute("SELECT set_config('lock_timeout', %s, true)", [RESERVE_LOCK_TIMEOUT])
    # pg_get_serial_sequence gives the name quoted as needed.
    cursor.execute(f"ALTER SEQUENCE {found} INCREMENT BY 1")
    cursor.execute(f"SELECT last_value, is_called FROM {found}")  # noqa: S608
    last, called = cursor.fetchone()
    first = int(last) + 1 if called else int(last)
    cursor.execute("SELECT setval(%s, %s, true)", [found, first + count - 1])
    return first


def finish_unattached(cursor: Any, table: str, key: str, value: int) -> None:
    """Index the filled partition table of ``value`` as ``table`` is indexed (attaching
    then adopts these indexes instead of building its own) and add the check that spares
    the attach its scan of the rows."""
    bare = partition_name(table, value)
    name = _q(bare)
    for _name, _kind, definition in _unique_constraints(cursor, table):
        cursor.execute(f"ALTER TABLE {name} ADD {definition}")
    for _name, definition in _plain_indexes(cursor, table):
        cursor.execute(f"CREATE INDEX ON {name} USING {definition}")
    cursor.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {_q(bare + '_bound')} "
        f"CHECK ({_q(key)} IS NOT NULL AND {_q(key)} = {int(value)})"
    )


def attach(cursor: Any, table: str, value: int) -> None:
    """Attach ``value``'s finished partition table to ``table`` (in the caller's
    transaction): its rows become the table's at the commit."""
    bare = partition_name(table, value)
    cursor.execute(
        f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(bare)} FOR VALUES IN ({int(value)})"
    )
    # The partition bound now says the same.
    cursor.execute(f"ALTER TABLE {_q(bare)} DROP CONSTRAINT {_q(bare + '_bound')}")
