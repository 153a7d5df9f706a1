"""Import a 100,000-line canonical statement CSV end to end (read, validate, dedupe,
write, audit) and print lines/s beside a raw baseline: the same rows written with no
validation (executemany on SQLite, COPY on PostgreSQL).

    .venv/bin/python bench/import_statement.py            # SQLite (a scratch file)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tonle_bench \
        .venv/bin/python bench/import_statement.py        # PostgreSQL

Options: --lines N (default 100000). On PostgreSQL the ledger of that (scratch)
database is compacted with VACUUM FULL first, and each timed write starts after a
CHECKPOINT (the bench connects as a role allowed to run one, as postgres is).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def canonical_csv(lines: int, *, seed: str = "bench") -> bytes:
    """A canonical CSV of `lines` USD lines, one in 20 a ThaiQR cross-border debit
    (whose FX figures the import checks)."""
    from statements.canonical import CANONICAL_COLUMNS

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CANONICAL_COLUMNS)
    start = dt.datetime(2026, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    balance = 0
    for n in range(lines):
        posted = start + dt.timedelta(seconds=n * 37)
        if n % 20 == 19:
            cents = -(2890 - 50)  # 1,000 THB at 0.0289 = 28.90 USD = 28.40 + 0.50 fee
            # original_amount, original_currency, fx_rate, fee, biller_category
            tail = ["1000.00", "THB", "0.0289", "0.50", ""]
            channel = "CROSSBORDER"
        else:
            cents = (n * 7919) % 90000 + 100
            if n % 3 == 0:
                cents = -cents
            tail = ["", "", "", "", ""]
            channel = "KHQR" if cents > 0 else "TRANSFER"
        balance += cents
        writer.writerow(
            [
                f"{seed}-{n:07d}",
                posted.isoformat(),
                posted.date().isoformat(),
                _cents(cents),
                "USD",
                channel,
                "Sok Dara" if n % 2 else "ហាងកាហ្វេ",
                f"0{n % 997:03d}@wing",
                f"INV-{n}",
                f"{n:064x}"[-64:] if n % 4 == 0 else "",
                "Payment",
                _cents(balance),
                *tail,
            ]
        )
    return out.getvalue().encode()


def _cents(value: int) -> str:
    sign = "-" if value < 0 else ""
    value = abs(value)
    return f"{sign}{value // 100}.{value % 100:02d}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=100_000)
    args = parser.parse_args()
    scratch = ROOT / "var" / "bench_import.sqlite3"
    if "DATABASE_URL" not in os.environ:
        scratch.parent.mkdir(exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{scratch}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["MAX_IMPORT_ROWS"] = str(max(args.lines, 200_000))
    os.environ["MAX_UPLOAD_MB"] = "100"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    call_command("migrate", verbosity=0, interactive=False)
    if connection.vendor == "postgresql":
        # a scratch database: compact the ledger the last run's lines left sparse,
        # so that runs are comparable (never point this at a production database)
        with connection.cursor() as cursor:
            cursor.execute("VACUUM FULL ANALYZE statements_transaction")
            # each timed write starts just after a checkpoint, so that every run
            # writes the same full-page images to the WAL
            cursor.execute("CHECKPOINT")

    from merchants.models import Account, Merchant
    from statements.services.imports import statement_file_import

    stamp = time.strftime("%Y%m%d%H%M%S")
    merchant = Merchant.objects.create(
        legal_name="Bench", display_name="Bench", bakong_account_id=f"bench{stamp}@wing"
    )
    account = Account.objects.create(
        merchant=merchant, provider="hattha", currency="USD", number=f"B-{stamp}"
    )
    raw_account = Account.objects.create(
        merchant=merchant, provider="other", currency="USD", number=f"R-{stamp}"
    )
    data = canonical_csv(args.lines, seed=f"b{stamp}")
    print(
        f"{connection.vendor}: {args.lines:,} canonical lines, "
        f"{len(data) / 1_048_576:.1f} MB CSV"
    )

    # raw baseline: csv module + bare bulk write of the same rows, no validation
    started = time.perf_counter()
    with transaction.atomic():
        rows = _raw_rows(data, merchant.pk, raw_account.pk, connection.vendor)
        _raw_write(rows, connection)
    raw = time.perf_counter() - started
    print(
        f"  raw baseline ({_raw_kind(connection)}"
        f", no validation): {raw:.2f} s, {args.lines / raw:,.0f} lines/s"
    )

    if connection.vendor == "postgresql":
        # the baseline's 100,000 new rows would otherwise set autovacuum going on
        # the other core in the middle of the import being timed
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE statements_transaction")
            cursor.execute("CHECKPOINT")  # as before the baseline
    steal_before = _cpu_steal()
    server_before = _server_cpu(connection)
    wal_before = _wal(connection)
    process_before = time.process_time()
    started = time.perf_counter()
    result = statement_file_import(
        account=account, file_bytes=data, filename="bench.csv", preset="tonle"
    )
    took = time.perf_counter() - started
    steal = _cpu_steal() - steal_before
    process_cpu = time.process_time() - process_before
    server_cpu = _server_cpu(connection) - server_before
    wal = [
        after - before
        for after, before in zip(_wal(connection), wal_before, strict=True)
    ]
    assert not result.errors, result.errors[:3]
    assert result.inserted == args.lines, result
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"  statement_file_import: {took:.2f} s, {args.lines / took:,.0f} lines/s "
        f"(process peak RSS so far {peak:.0f} MB; the host took {steal / took:.0%} "
        "of a CPU meanwhile)"
    )
    print(
        f"    CPU: this process {process_cpu:.2f} s"
        + (f", its database backend {server_cpu:.2f} s" if server_cpu else "")
        + (
            f"; WAL (whole server) {wal[0] / 1_048_576:.0f} MB, "
            f"{wal[1]:,} full-page images"
            if wal
            else ""
        )
    )

    started = time.perf_counter()
    again = statement_file_import(
        account=account,
        file_bytes=data.replace(b"Payment", b"Paymenu"),
        filename="bench-again.csv",
        preset="tonle",
    )
    took = time.perf_counter() - started
    print(
        f"  re-import of the same lines (another file): {took:.2f} s, "
        f"{again.inserted} inserted, {again.skipped:,} skipped"
    )
    # leave the scratch ledger as small as it was, so runs stay comparable
    from statements.models import Transaction

    with transaction.atomic():
        Transaction.objects.filter(account__in=[account, raw_account]).delete()


def _cpu_steal() -> float:
    """CPU seconds the hypervisor has taken from this VM ('steal', /proc/stat):
    when it is high, every figure here is lower than the machine can do."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return 0.0
    return int(fields[8]) / os.sysconf("SC_CLK_TCK") if len(fields) > 8 else 0.0


def _backend_proc(connection, name: str) -> str | None:
    """/proc/<pid>/<name> of the PostgreSQL backend serving this connection, when
    it runs on this machine (None otherwise, or on another database)."""
    if connection.vendor != "postgresql":
        return None
    connection.ensure_connection()
    pid = connection.connection.info.backend_pid
    try:
        with open(f"/proc/{pid}/{name}") as proc:
            return proc.read()
    except OSError:
        return None


def _server_cpu(connection) -> float:
    """CPU seconds the backend has used (0 when unknown): with the process's own,
    it tells which side an import waits for."""
    stat = _backend_proc(connection, "stat")
    if stat is None:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_waited(connection) -> float:
    """Seconds the backend was ready to run but waited for a CPU (the scheduler's
    run delay, /proc/<pid>/schedstat), 0 when unknown: on shared cores, with its
    CPU seconds, most of an import's wall time."""
    schedstat = _backend_proc(connection, "schedstat")
    try:
        return int(schedstat.split()[1]) / 1e9 if schedstat else 0.0
    except (IndexError, ValueError):
        return 0.0


def _wal(connection) -> tuple[int, int]:
    """PostgreSQL's WAL bytes and full-page images written so far, by the whole
    server (other databases' writers included: on a shared server the figure is
    an upper bound), () elsewhere."""
    if connection.vendor != "postgresql":
        return ()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute("SELECT wal_bytes, wal_fpi FROM pg_stat_wal")
        wal_bytes, fpi = cursor.fetchone()
    return int(wal_bytes), int(fpi)


def _raw_kind(connection) -> str:
    return "COPY" if connection.vendor == "postgresql" else "executemany"


def _raw_rows(data: bytes, merchant_id: int, account_id: int, vendor: str) -> list:
    reader = csv.reader(io.StringIO(data.decode()))
    next(reader)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for r in reader:
        posted = dt.datetime.fromisoformat(r[1])
        rows.append(
            (
                merchant_id,
                account_id,
                r[0],
                posted
                if vendor == "postgresql"
                else str(posted.astimezone(dt.UTC))[:19],
                r[2],
                int(r[3].replace(".", "")),
                r[4],
                r[5],
                r[6],
                r[8],
                "file",
                now if vendor == "postgresql" else str(now)[:26],
            )
        )
    return rows


RAW_COLUMNS = (
    "merchant_id, account_id, external_id, posted_at, value_date, amount, currency, "
    "channel, counterparty_name, reference, source, created_at"
)
RAW_EMPTY = (
    "counterparty_account, bakong_hash, description, original_currency, biller_category"
)


def _raw_write(rows: list, connection) -> None:
    table = "statements_transaction"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(
                f"COPY {table} ({RAW_COLUMNS}, {RAW_EMPTY}) FROM STDIN"
            ) as copy:
                for row in rows:
                    copy.write_row((*row, "", "", "", "", ""))
        else:
            marks = ", ".join(["%s"] * 17)
            cursor.executemany(
                f"INSERT INTO {table} ({RAW_COLUMNS}, {RAW_EMPTY}) VALUES ({marks})",
                [(*row, "", "", "", "", "") for row in rows],
            )


if __name__ == "__main__":
    main()
