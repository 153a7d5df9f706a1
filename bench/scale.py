"""Issue 16's targets, measured on the database bench/seed_scale.py filled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scale \\
        .venv/bin/python bench/scale.py [--only transactions,pdf,…]

Each part runs in its own child process (this parent never loads Django), so the
peak printed for a part is that child's own maximum resident set (ru_maxrss, ~70
MB of it Python, Django and the libraries before any work): for the PDF, the
import and the reconciliation one child does exactly one measured piece of work;
for the Transactions page it is the peak over all its requests; for the load run
it is each gunicorn worker's VmHWM after the run. Each part prints the EXPLAIN
(ANALYZE, BUFFERS) plans of its query that matters.

  transactions  the Transactions page through Django's test client, signed in as
                the largest merchant's accountant: every filter the page offers,
                each sort, cursor pages; p50/p95 per case and over all
  pdf           one month's statement PDF of the largest merchant's busiest account
  import        statement_file_import of bench/import_statement.py's 100,000-line
                canonical CSV into a new account of the largest merchant
  reconcile     reconciliation_run_start over one month of the largest merchant
  poll          10,000 pending codes polled against bench/bakong_standin.py, paced
                by BAKONG_MAX_REQUESTS_PER_SECOND (the rate limit)
  load          POST /api/v1/qr and POST /webhooks/in/<id>/ beside a plain Django
                view, on one gunicorn over PostgreSQL and Redis, from a bounded
                asyncio httpx client; then every accepted request has one record
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PARTS = ("transactions", "pdf", "import", "reconcile", "poll", "load")
MONTH = ("2025-06-01", "2025-06-30")  # the month of the pages and the PDF
# statements 0012's indexes, measured on this database before and after (2 shared
# cores; import figures vary ±40 % run to run with the other tenants' load)
INDEX_NOTES = """\
indexes chosen from the plans above (statements migration 0012):
  txn_merchant_channel_idx (merchant, channel, posted_at, id): the page's channel
    filter on a rare channel walked the merchant's whole seek index backwards for
    one page; channel=CROSSBORDER p50 345 ms -> 47 ms
  txn_merchant_value_date_idx (merchant, value_date): reconciliation's line load
    was a parallel seq scan of the whole ledger (1.1 M rows read for 83 k); now a
    bitmap index scan, that query 283 ms -> 164 ms (with 200 equal merchants it
    reads 1/200 of the table instead of all of it)
  cost: statement_file_import of 100,000 lines, median of 4-5 runs each,
    ~39,000 lines/s before -> ~26,000 lines/s after (two more btrees per line)
  the channel index stays whole: holding the rare channels only (WHERE channel
    NOT IN KHQR, TRANSFER) saved 0.11 s of database CPU per 100,000 imported
    lines, but a merchant for whom KHQR or transfers are the rare channel would
    page them by walking its seek index again (the 345 ms above, or the whole
    ledger for a channel it never used)
per imported line (100,000 lines COPYed into this ledger in a transaction rolled
back, one index dropped inside it; database CPU of 1.6-1.7 s in all, 5 runs):
  txn_search_trgm_idx ~0.67 s (~27 trigrams a line, ~0.025 s each), of which
  the description's 8 trigrams 0.18 s; txn_merchant_amount_idx 0.26 s and the
  counterparty account's B-tree 0.14 s (both a random place per line: buffer
  misses, page splits, full-page images); txn_merchant_channel_idx 0.10-0.18 s;
  the account check trigger 0.11 s; value_date 0.07, seek 0.08, bakong_hash
  0.06, bakong_transaction_id's unique 0.05 s (NULLs append at the end);
  (account, posted_at) and (account, external_id) ~0 (a new account's lines
  append at the end)
not indexed (a plan, not an index, is the answer):
  q= search: OR of three ILIKE '%x%' and two equalities, unindexable by btree;
    a pasted Bakong hash (1 hit) walked all 1 M lines, 1.4-2 s. Since then a
    64-hex / 8-hex / bank-id q goes to bakong_hash and (account, external_id)
    first, and free text to one pg_trgm GIN index (statements 0014): 46-50 ms
    and 115-124 ms p95, at ~40 % of the import's rate; since statements 0015
    the index holds the three texts only and a partial B-tree the counterparty
    account's `=` (a quarter fewer trigram entries per imported line); since
    0017 that `=` is one more column of the GIN index (btree_gin, one entry a
    line beside ~27 trigrams) and the B-tree is gone: 0.09 s less database CPU
    per 100,000 imported lines, q=Sophea p50 37 -> 41 ms
  statement opening balance: the last line with a bank balance before the
    period and SUM(amount) over the earlier lines are parallel seq scans
    (~120-190 ms each of the PDF's 3-6 s); a partial index (account, posted_at,
    id) WHERE balance_after IS NOT NULL, and (account, posted_at) INCLUDE
    (amount), would make them index-only
"""
TARGETS = {
    "transactions": "p95 < 150 ms",
    "pdf": "< 5 s",
    "import": ">= 50,000 lines/s",
    "reconcile": "< 20 s",
    "poll": "10,000 in < 60 s, within the rate limit",
    "load": "reported beside a plain view",
}
MEMORY_MB = 300
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")


def _django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault(
        "FIELD_ENCRYPTION_KEYS", "3x6Vz0b1oVCbG1y0m4cVYt8t6m1Xo7cD9rN2yq0T6aE="
    )
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("bench/scale.py needs DATABASE_URL=postgres://…")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    # as deployed: DEBUG off (no query log, no debug pages), whatever .env says
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _largest():
    from bench.seed_scale import LARGEST
    from merchants.models import Merchant

    merchant = Merchant.objects.filter(legal_name=LARGEST).first()
    if merchant is None:
        raise SystemExit("no seeded database: run bench/seed_scale.py first")
    return merchant


def explain(sql: str, params=None, *, title: str) -> None:
    """Print the plan PostgreSQL runs for one query (it is run: ANALYZE)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        plan = "\n".join(f"    {row[0]}" for row in cursor.fetchall())
    print(f"  -- plan: {title}\n    {sql[:600]}\n{plan}", flush=True)


def _slowest(queries: list[dict], *, containing: str = "") -> dict | None:
    chosen = [q for q in queries if containing in q["sql"]]
    return max(chosen, key=lambda q: float(q["time"]), default=None)


def _explain_captured(queries: list[dict], *, title: str, containing: str) -> None:
    """EXPLAIN the slowest captured query that contains `containing` (the SQL as
    Django sent it, with its parameters inlined by the driver's own quoting)."""

    query = _slowest(queries, containing=containing)
    if query is None:
        print(f"  -- plan: {title}: no query with {containing!r}")
        return
    sql = query["sql"]
    if sql.startswith("DECLARE "):  # an iterator(): plan the SELECT it runs
        sql = sql[sql.index(" FOR SELECT ") + len(" FOR ") :]
    # a claim's FOR UPDATE SKIP LOCKED is planned as run: it takes the rows' locks
    # and lets go of them at once (autocommit), changing nothing
    explain(sql, title=f"{title} ({float(query['time']) * 1000:.0f} ms)")


# -- transactions -----------------------------------------------------------------


def part_transactions(repeat: int) -> list[dict]:
    import re
    import statistics

    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.seed_scale import ACCOUNTANT
    from merchants.models import Account

    merchant = _largest()
    accounts = {
        a.number.split("-", 1)[1]: a.pk
        for a in Account.objects.filter(merchant=merchant)
    }
    client = Client()
    client.force_login(get_user_model().objects.get(username=ACCOUNTANT))
    url = "/statements/transactions/"
    some_hash = _a_hash(merchant)  # an exact search: a pasted Bakong hash
    cases = {
        "no filter (page 1)": {},
        "account bank_USD": {"account": accounts["bank_USD"]},
        "account wallet_KHR": {"account": accounts["wallet_KHR"]},
        "one month": {"date_from": MONTH[0], "date_to": MONTH[1]},
        "one day": {"date_from": "2025-06-14", "date_to": "2025-06-14"},
        "channel KHQR": {"channel": "KHQR"},
        "channel CROSSBORDER": {"channel": "CROSSBORDER"},
        "channel TRANSFER": {"channel": "TRANSFER"},
        "channel CARD": {"channel": "CARD"},
        "channel FEE": {"channel": "FEE"},
        "channel BILL (none)": {"channel": "BILL"},
        "direction credit": {"direction": "credit"},
        "direction debit": {"direction": "debit"},
        "amount >= 2000": {"min_amount": "2000"},
        "amount <= 1": {"max_amount": "1"},
        "source bakong": {"source": "bakong"},
        "q=Sophea (text)": {"q": "Sophea"},
        "q=<bakong hash>": {"q": some_hash},
        "account+month+credit": {
            "account": accounts["bank_USD"],
            "date_from": MONTH[0],
            "date_to": MONTH[1],
            "direction": "credit",
        },
        "sort posted": {"sort": "posted"},
        "sort -amount": {"sort": "-amount"},
        "sort amount": {"sort": "amount"},
        "month, sort -amount": {
            "date_from": MONTH[0],
            "date_to": MONTH[1],
            "sort": "-amount",
        },
    }
    cursor_link = re.compile(r'[?&](?:amp;)?after=([^&"]+)')

    def cursor_case(params: dict, pages: int) -> dict:
        """The query of page `pages + 1`, walked to by cursor."""
        query = dict(params)
        for _ in range(pages):
            found = cursor_link.search(client.get(url, query).content.decode())
            if not found:
                break
            query["after"] = found.group(1)
        return query

    cases["cursor page 2"] = cursor_case({}, 1)
    cases["cursor page 21"] = cursor_case({}, 20)
    cases["cursor page 11, sort -amount"] = cursor_case({"sort": "-amount"}, 10)
    cases["cursor page 6, channel KHQR"] = cursor_case({"channel": "KHQR"}, 5)
    client.get(url)  # warm: templates, sessions
    rows, every = [], []
    for label, params in cases.items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(url, params)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        every += times
        times.sort()
        p95 = times[max(0, round(0.95 * len(times)) - 1)]
        print(
            f"  {label:<32} p50 {statistics.median(times):7.1f} ms   p95 {p95:7.1f} ms",
            flush=True,
        )
        rows.append({"case": label, "p95": p95})
    every.sort()
    p95 = every[round(0.95 * len(every)) - 1]
    worst = max(rows, key=lambda r: r["p95"])
    print("  plans of the slowest query of a few pages:")
    for label in ("one month", "q=Sophea (text)", "cursor page 21", worst["case"]):
        with CaptureQueriesContext(connection) as captured:
            client.get(url, cases[label])
        _explain_captured(
            captured.captured_queries,
            title=f"Transactions page, {label}",
            containing="statements_transaction",
        )
    return [
        {
            "what": "Transactions page, any filter",
            "figure": f"p95 {p95:.0f} ms over {len(every)} requests "
            f"({len(cases)} cases); worst case {worst['case']}: "
            f"p95 {worst['p95']:.0f} ms",
            "met": worst["p95"] < 150,
            "peak_mb": _peak_mb(),
            "peak_note": "child peak over all its requests",
        }
    ]


def _a_hash(merchant) -> str:
    from payments.models import BakongTransaction

    return (
        BakongTransaction.objects.filter(merchant=merchant)
        .order_by("pk")
        .values_list("hash", flat=True)[1000:1001]
        .get()
    )


# -- pdf ------------------------------------------------------------------------------


def part_pdf() -> list[dict]:
    import datetime as dt
    import tempfile

    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from merchants.models import Account
    from statements.documents import render_statement
    from statements.models import Transaction

    merchant = _largest()
    first, last = (dt.date.fromisoformat(d) for d in MONTH)
    busiest = (
        Transaction.objects.filter(
            merchant=merchant, value_date__gte=first, value_date__lte=last
        )
        .values("account")
        .annotate(n=Count("pk"))
        .order_by("-n")
        .first()
    )
    account = Account.objects.select_related("merchant").get(pk=busiest["account"])
    out = Path(tempfile.mkdtemp(prefix="tonle-scale-")) / "statement.pdf"
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        result = render_statement(
            account=account, date_from=first, date_to=last, fmt="pdf", out=out
        )
        seconds = time.perf_counter() - started
    peak = _peak_mb()
    print(
        f"  {account.number}: {result.lines:,} lines, {out.stat().st_size / 1e6:.1f}"
        f" MB PDF in {seconds:.2f} s, child peak {peak:.0f} MB",
        flush=True,
    )
    _explain_captured(
        captured.captured_queries,
        title="statement range (the month's lines of one account)",
        containing="statements_transaction",
    )
    out.unlink()
    return [
        {
            "what": "one month's statement PDF (largest merchant's busiest account)",
            "figure": f"{seconds:.2f} s for {result.lines:,} lines",
            "met": seconds < 5,
            "peak_mb": peak,
            "peak_note": "child (one render)",
        }
    ]


# -- import -----------------------------------------------------------------------


def part_import(lines: int) -> list[dict]:
    from django.db import connection, transaction

    from bench.import_statement import _server_cpu, _server_waited, canonical_csv
    from merchants.models import Account
    from statements.models import ImportBatch, Transaction
    from statements.services.imports import statement_file_import

    os.environ["MAX_IMPORT_ROWS"] = str(max(lines, 200_000))
    merchant = _largest()
    stamp = time.strftime("%Y%m%d%H%M%S")
    account = Account.objects.create(
        merchant=merchant,
        provider="hattha",
        currency="USD",
        number=f"IMPORT-{stamp}",
        name="Import bench",
    )
    data = canonical_csv(lines, seed=f"s{stamp}")
    server_before = _server_cpu(connection)
    waited_before = _server_waited(connection)
    process_before = time.process_time()
    started = time.perf_counter()
    result = statement_file_import(
        account=account, file_bytes=data, filename="bench.csv", preset="tonle"
    )
    seconds = time.perf_counter() - started
    process_cpu = time.process_time() - process_before
    server_cpu = _server_cpu(connection) - server_before
    server_waited = _server_waited(connection) - waited_before
    load = os.getloadavg()[0]
    peak = _peak_mb()
    assert not result.errors and result.inserted == lines, result
    rate = lines / seconds
    print(
        f"  {lines:,} lines into a ledger of "
        f"{Transaction.objects.filter(merchant=merchant).count():,}: {seconds:.2f} s, "
        f"{rate:,.0f} lines/s, child peak {peak:.0f} MB",
        flush=True,
    )
    # on shared cores the rate follows the neighbours' load; the CPU seconds spent
    # by each side say what the import itself costs and which side it waits for
    print(
        f"    CPU: this process {process_cpu:.2f} s, its database backend "
        f"{server_cpu:.2f} s (and {server_waited:.2f} s ready to run, waiting for "
        f"a CPU); load average {load:.1f} on {os.cpu_count()} CPUs",
        flush=True,
    )
    with transaction.atomic():  # the ledger as it was (audit events stay: append-only)
        # one statement: the ORM deletes 100 ids at a time, and each statement's
        # check that no match names a deleted line (reconciliation 0004) made
        # that ~0.6 s a batch, 10 minutes for the file; nothing else names a
        # line of this new account
        with connection.cursor() as cursor:
            cursor.execute(
                f"DELETE FROM {connection.ops.quote_name(Transaction._meta.db_table)}"  # noqa: S608
                " WHERE account_id = %s",
                [account.pk],
            )
        ImportBatch.objects.filter(account=account).delete()
        account.is_active = False
        account.save(update_fields=["is_active"])
    # the deleted lines' dead rows and index entries would slow the next run's
    # import (by ~0.3 s of backend CPU per 100,000 lines) where autovacuum is off
    # or has not come by yet; VACUUM runs outside a transaction
    with connection.cursor() as cursor:
        cursor.execute(
            f"VACUUM {connection.ops.quote_name(Transaction._meta.db_table)}"
        )
    return [
        {
            "what": "CSV import (canonical, full validation)",
            "figure": f"{rate:,.0f} lines/s ({lines:,} lines in {seconds:.1f} s)",
            "met": rate >= 50_000,
            "peak_mb": peak,
            "peak_note": "child (one import; the CSV itself is held in memory)",
        }
    ]


# -- reconcile ------------------------------------------------------------------------


def part_reconcile(month: str) -> list[dict]:
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from reconciliation.models import ReconciliationRun
    from reconciliation.services.runs import reconciliation_run_start

    merchant = _largest()
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    again = ReconciliationRun.objects.filter(
        merchant=merchant, period_from=first, status="done"
    ).exists()
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        outcome = reconciliation_run_start(
            merchant=merchant, date_from=first, date_to=last, trigger="command"
        )
        seconds = time.perf_counter() - started
    peak = _peak_mb()
    run = outcome.run
    print(
        f"  {first:%B %Y}{' (a re-run)' if again else ' (first run)'}: "
        f"{run.expected_count:,} expected x {run.posted_count:,} "
        f"posted in {seconds:.2f} s (timings {run.timings}); "
        f"{run.counts.get('matched', 0):,} matched, "
        f"{run.counts.get('exceptions', 0):,} exceptions; child peak {peak:.0f} MB",
        flush=True,
    )
    for table in ("statements_transaction", "payments_paymentrequest"):
        _explain_captured(
            captured.captured_queries,
            title=f"reconciliation load ({table})",
            containing=f'FROM "{table}"',
        )
    return [
        {
            "what": "full reconciliation of the largest merchant's month"
            + (" (a re-run of a reconciled month)" if again else " (first run)"),
            "figure": f"{seconds:.1f} s ({run.expected_count:,} expected x "
            f"{run.posted_count:,} posted)",
            "met": seconds < 20,
            "peak_mb": peak,
            "peak_note": "child (one run)",
        }
    ]


# -- poll -------------------------------------------------------------------------


def part_poll(count: int, rate_limit: float) -> list[dict]:
    import datetime as dt
    import hashlib
    import socket
    import tempfile
    import threading

    import httpx
    from django.conf import settings
    from django.db import transaction
    from django.utils import timezone

    from merchants.models import Account, Merchant
    from payments.bakong_access import SANDBOX_EMAIL, BakongAccess
    from payments.clients.bakong import BakongClient
    from payments.models import (
        BakongTransaction,
        PaymentCheck,
        PaymentRequest,
        WebhookDelivery,
    )
    from payments.services.polling import payments_poll_due
    from statements.models import Transaction

    settings.BAKONG_MAX_REQUESTS_PER_SECOND = rate_limit
    settings.BAKONG_BULK_MD5 = True
    stamp = time.strftime("%H%M%S")
    merchant = Merchant.objects.create(
        legal_name=f"Scale Poll Bench {stamp}",
        display_name="Poll bench",
        bakong_account_id=f"poll{stamp}@wing",
    )
    wallet = Account.objects.create(
        merchant=merchant,
        provider="bakong",
        currency="USD",
        number=f"POLL-{stamp}",
        bakong_account_id=f"poll{stamp}@wing",
    )
    now = timezone.now()
    rows = [
        PaymentRequest(
            merchant=merchant,
            account=wallet,
            amount="12.50",
            currency="USD",
            qr=f"poll-{stamp}-{i}",
            md5=hashlib.md5(f"poll-{stamp}-{i}".encode()).hexdigest(),  # noqa: S324
            expires_at=now + dt.timedelta(hours=2),
            next_check_at=now - dt.timedelta(seconds=1),
        )
        for i in range(count)
    ]
    PaymentRequest.objects.bulk_create(rows, batch_size=2000)
    paid = {
        r.md5: {
            "hash": hashlib.sha256(r.md5.encode()).hexdigest(),
            "fromAccountId": "payer@aclb",
            "toAccountId": wallet.bakong_account_id,
            "currency": "USD",
            "amount": 12.5,
            "description": "",
            "createdDateMs": int(now.timestamp() * 1000),
            "acknowledgedDateMs": int(now.timestamp() * 1000),
        }
        for r in rows[: count // 10]
    }
    work = Path(tempfile.mkdtemp(prefix="tonle-scale-poll-"))
    (work / "paid.json").write_text(json.dumps(paid))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    standin = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bakong_standin.py"), str(port)]
        + [str(work / "paid.json")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sent: list[float] = []
    lock = threading.Lock()

    class Recording(httpx.HTTPTransport):
        def handle_request(self, request):
            with lock:
                sent.append(time.monotonic())
            return super().handle_request(request)

    try:
        for _ in range(100):
            try:
                httpx.get(f"http://127.0.0.1:{port}/control", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        client = BakongClient(
            base_url=f"http://127.0.0.1:{port}", transport=Recording()
        )
        access = BakongAccess(client=client, email=SANDBOX_EMAIL)
        access.token()
        claim_plan = _claim_plan()  # while the 10,000 are due
        sent.clear()
        checked = rounds = 0
        never = PaymentRequest.objects.filter(merchant=merchant, last_checked_at=None)
        started = time.perf_counter()
        stats = payments_poll_due(limit=500, access=access)
        checked += stats.checked
        rounds += 1
        # rounds back to back, as the beat's would run, until every code has been
        # asked about at least once (the poller re-asks the oldest as it goes)
        while never.exists() and time.perf_counter() - started < 600:
            stats = payments_poll_due(limit=500, access=access)
            checked += stats.checked
            rounds += 1
        seconds = time.perf_counter() - started
    finally:
        standin.terminate()
        standin.wait(timeout=10)
    peak = _peak_mb()
    busiest = max((sum(1 for t in sent if s <= t < s + 1) for s in sent), default=0)
    paid_now = PaymentRequest.objects.filter(merchant=merchant, status="paid").count()
    print(
        f"  {count:,} pending ({len(paid):,} paid at the stand-in): every one "
        f"checked at least once in {seconds:.1f} s ({checked:,} checks in {rounds} "
        f"rounds, {len(sent)} HTTP calls); "
        f"{paid_now:,} now paid; busiest second {busiest} calls (limit "
        f"{rate_limit:g}/s); child peak {peak:.0f} MB",
        flush=True,
    )
    print(claim_plan, flush=True)
    with transaction.atomic():  # leave the seeded database as it was
        mine = PaymentRequest.objects.filter(merchant=merchant)
        Transaction.objects.filter(merchant=merchant).delete()
        BakongTransaction.objects.filter(merchant=merchant).delete()
        WebhookDelivery.objects.filter(merchant=merchant).delete()
        PaymentCheck.objects.filter(payment_request__in=mine).delete()
        mine.delete()  # the merchant and its audit events stay (append-only)
    ok = not never.exists() and seconds < 60 and busiest <= rate_limit
    return [
        {
            "what": f"{count:,} pending codes polled (bulk md5, stand-in)",
            "figure": f"{seconds:.1f} s, {len(sent)} calls, busiest second "
            f"{busiest} calls at a limit of {rate_limit:g}/s",
            "met": ok,
            "peak_mb": peak,
            "peak_note": "child (all rounds)",
        }
    ]


def _claim_plan() -> str:
    """The plan of the poller's claim (payments.services.polling._claim's query),
    run as the poller runs it: in a transaction, its locks let go at the end."""
    import contextlib
    import io

    from django.db import transaction
    from django.utils import timezone

    from payments.models import PaymentRequest
    from payments.services.polling import _due_filter

    rows = (
        PaymentRequest.objects.filter(_due_filter(timezone.now()))
        .order_by("next_check_at", "pk")
        .select_for_update(skip_locked=True, of=("self",))
        .values_list("pk", "md5", "created_at", "expires_at")[:500]
    )
    out = io.StringIO()
    with transaction.atomic(), contextlib.redirect_stdout(out):
        sql, params = rows.query.sql_with_params()
        explain(sql, params, title="polling claim (500 due codes, SKIP LOCKED)")
    return out.getvalue().rstrip()


# -- load -----------------------------------------------------------------------------


def part_load(requests: int, concurrency: int, workers: int) -> list[dict]:
    import asyncio
    import socket

    import httpx

    from core.signing import signature_header
    from merchants.models import Account, Merchant
    from merchants.services import api_key_create
    from payments.models import InboundEvent, PaymentRequest
    from tests.factories import ConnectionFactory

    stamp = time.strftime("%H%M%S")
    merchant = Merchant.objects.create(
        legal_name=f"Scale Load Bench {stamp}",
        display_name="Load bench",
        bakong_account_id=f"load{stamp}@wing",
    )
    wallet = Account.objects.create(
        merchant=merchant,
        provider="bakong",
        currency="USD",
        number=f"LOAD-{stamp}",
        bakong_account_id=f"load{stamp}@wing",
    )
    secret = "load-bench-secret-" + stamp
    gateway = ConnectionFactory(
        account=wallet,
        merchant=merchant,
        provider="khqr_gateway",
        credentials={"webhook_secret": secret},
    )
    key = api_key_create(merchant=merchant)[1]
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    port, bakong_port = ports
    base = f"http://127.0.0.1:{port}"
    empty = ROOT / "var" / "scale-standin-paid.json"
    empty.write_text("{}")
    # Bakong's deeplink answered at once by the stand-in: the figure is Tonle's
    standin = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "bakong_standin.py")]
        + [str(bakong_port), str(empty)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.load_settings",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CELERY_BROKER_URL": REDIS_URL,
        "API_RATE_LIMIT_PER_MINUTE": "10000000",
        "BAKONG_BASE_URL": f"http://127.0.0.1:{bakong_port}",
        "BAKONG_EMAIL": "bench@example.com",
        "LOG_LEVEL": "ERROR",
    }
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    server = subprocess.Popen(
        [gunicorn, "config.wsgi", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", str(workers), "--worker-class", "gthread", "--threads", "4"]
        + ["--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(ROOT / "var" / "scale-gunicorn.log", "wb"),  # noqa: SIM115
    )
    results = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/bench/plain", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            raise SystemExit("gunicorn did not start; see var/scale-gunicorn.log")

        def plain(n: int) -> dict:
            return {"method": "GET", "url": f"{base}/bench/plain"}

        def qr(n: int) -> dict:
            return {
                "method": "POST",
                "url": f"{base}/api/v1/qr",
                "json": {
                    "amount": "4.50",
                    "currency": "USD",
                    "order_id": f"L{stamp}-{n}",
                },
                "headers": {"Authorization": f"Bearer {key}"},
            }

        def webhook(n: int) -> dict:
            body = json.dumps(
                {
                    "event": "transaction.paid",
                    "id": f"evt-{stamp}-{n}",
                    "md5": f"{n:032x}",
                    "hash": f"{n:064x}",
                    "amount": "4.50",
                    "currency": "USD",
                }
            ).encode()
            return {
                "method": "POST",
                "url": f"{base}/webhooks/in/{gateway.pk}/",
                "content": body,
                "headers": {
                    "Content-Type": "application/json",
                    "X-Tonle-Signature": signature_header(secret=secret, body=body),
                },
            }

        async def run(label: str, make, accepted: set[int]) -> dict:
            limits = httpx.Limits(max_connections=concurrency)
            async with httpx.AsyncClient(limits=limits, timeout=30) as client:
                gate = asyncio.Semaphore(concurrency)
                latencies, statuses = [], {}

                async def one(n: int) -> None:
                    async with gate:
                        started = time.perf_counter()
                        try:
                            response = await client.request(**make(n))
                            status = response.status_code
                        except httpx.HTTPError as exc:
                            status = type(exc).__name__
                        latencies.append(time.perf_counter() - started)
                        statuses[status] = statuses.get(status, 0) + 1
                        if status in accepted:
                            accepted_ns.append(n)

                accepted_ns: list[int] = []
                for n in range(-20, 0):  # warm every worker
                    await one(n)
                latencies.clear()
                statuses.clear()
                accepted_ns.clear()
                started = time.perf_counter()
                await asyncio.gather(*(one(n) for n in range(requests)))
                seconds = time.perf_counter() - started
            latencies.sort()

            def pct(p: float) -> float:
                return (
                    latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000
                )

            row = {
                "label": label,
                "rps": requests / seconds,
                "p50": pct(0.50),
                "p95": pct(0.95),
                "p99": pct(0.99),
                "statuses": statuses,
                "accepted": sorted(accepted_ns),
            }
            print(
                f"  {label:<28} {row['rps']:7.0f} req/s   p50 {row['p50']:6.1f} ms"
                f"   p95 {row['p95']:6.1f} ms   p99 {row['p99']:6.1f} ms   "
                f"statuses {statuses}",
                flush=True,
            )
            return row

        print(
            f"  gunicorn {workers} workers x 4 threads, {concurrency} concurrent "
            f"clients, {requests:,} requests each, loopback",
            flush=True,
        )
        rows = [
            asyncio.run(run("GET plain Django view", plain, {200})),
            asyncio.run(run("POST /api/v1/qr", qr, {201})),
            asyncio.run(run("POST /webhooks/in/<id>/", webhook, {202})),
        ]
        hwm = _worker_hwm(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=20)
        standin.terminate()
        standin.wait(timeout=10)
    codes = PaymentRequest.objects.filter(
        merchant=merchant, order_id__startswith=f"L{stamp}-"
    )
    made = dict(
        codes.values_list("order_id").annotate(n=_count()).values_list("order_id", "n")
    )
    events = InboundEvent.objects.filter(connection=gateway)
    got = dict(events.values_list("delivery_id").annotate(n=_count()))
    qr_ok = (
        all(made.get(f"L{stamp}-{n}") == 1 for n in rows[1]["accepted"])
        and len(made) == len(rows[1]["accepted"]) + 20
    )
    hook_ok = (
        all(got.get(f"evt-{stamp}-{n}") == 1 for n in rows[2]["accepted"])
        and len(got) == len(rows[2]["accepted"]) + 20
    )
    print(
        f"  records: {len(rows[1]['accepted']):,} codes accepted, "
        f"{len(made) - 20:,} payment requests (one each: {qr_ok}); "
        f"{len(rows[2]['accepted']):,} webhooks accepted, {len(got) - 20:,} inbound "
        f"events (one each: {hook_ok}); worker peaks (VmHWM) {hwm} MB",
        flush=True,
    )
    _load_cleanup(merchant)
    for row in rows:
        results.append(
            {
                "what": f"load: {row['label']}",
                "figure": f"{row['rps']:.0f} req/s, p50/p95/p99 {row['p50']:.0f}/"
                f"{row['p95']:.0f}/{row['p99']:.0f} ms",
                "met": (qr_ok and hook_ok) if row is not rows[0] else None,
                "peak_mb": max(hwm) if hwm else 0,
                "peak_note": "largest gunicorn worker VmHWM",
            }
        )
    return results


def _count():
    from django.db.models import Count

    return Count("pk")


def _worker_hwm(master: int) -> list[int]:
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) // 1024)
    return sorted(peaks)


def _load_cleanup(merchant) -> None:
    from django.db import transaction
    from django.utils import timezone

    from merchants.models import ApiKey, Connection
    from payments.models import InboundEvent, PaymentRequest

    with transaction.atomic():
        # the merchant and its audit events stay (append-only)
        InboundEvent.objects.filter(merchant=merchant).delete()
        PaymentRequest.objects.filter(merchant=merchant).delete()
        Connection.objects.filter(merchant=merchant).update(revoked_at=timezone.now())
        ApiKey.objects.filter(merchant=merchant).update(revoked_at=timezone.now())
    try:
        import redis

        redis.Redis.from_url(REDIS_URL).flushdb()  # the queued tasks (bench db)
    except Exception as exc:  # noqa: BLE001 - cleanup only
        print(f"  (redis not flushed: {exc})")


# -- the parent -------------------------------------------------------------------


def child(part: str, args) -> None:
    _django()
    if part == "transactions":
        rows = part_transactions(args.repeat)
    elif part == "pdf":
        rows = part_pdf()
    elif part == "import":
        rows = part_import(args.import_lines)
    elif part == "reconcile":
        rows = part_reconcile(args.month)
    elif part == "poll":
        rows = part_poll(args.poll, args.rate_limit)
    elif part == "load":
        rows = part_load(args.requests, args.concurrency, args.workers)
    else:
        raise SystemExit(f"unknown part {part}")
    print("RESULT " + json.dumps(rows), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=",".join(PARTS))
    parser.add_argument("--child")
    parser.add_argument("--repeat", type=int, default=20, help="requests per case")
    parser.add_argument("--import-lines", type=int, default=100_000)
    parser.add_argument(
        "--month", default="2025-07", help="the month reconciled (YYYY-MM)"
    )
    parser.add_argument("--poll", type=int, default=10_000)
    parser.add_argument(
        "--rate-limit", type=float, default=20.0, help="Bakong calls per second"
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workers", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        child(args.child, args)
        return
    parts = [p.strip() for p in args.only.split(",") if p.strip()]
    for part in parts:
        if part not in PARTS:
            raise SystemExit(f"--only: {part!r} is not one of {', '.join(PARTS)}")
    print(
        f"bench/scale.py on {os.environ.get('DATABASE_URL', '?')}, "
        f"{os.cpu_count()} CPUs"
    )
    table = []
    for part in parts:
        print(f"== {part} (target: {TARGETS[part]})", flush=True)
        command = [sys.executable, __file__, "--child", part]
        for name in (
            "repeat",
            "import_lines",
            "poll",
            "rate_limit",
            "requests",
            "month",
        ):
            command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
        command += [
            "--concurrency",
            str(args.concurrency),
            "--workers",
            str(args.workers),
        ]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        rows = []
        for line in done.stdout.splitlines():
            if line.startswith("RESULT "):
                rows = json.loads(line[len("RESULT ") :])
            else:
                print(line)
        if done.returncode:
            print(done.stderr[-3000:])
            table.append({"what": part, "figure": "FAILED", "met": False, "peak_mb": 0})
        for row in rows:
            row["part"] = part
        table += rows
        print(f"   ({part} took {time.perf_counter() - started:.0f} s)", flush=True)
    print("\n" + INDEX_NOTES)
    print("| what | figure | target | met | peak memory |")
    print("|---|---|---|---|---|")
    for row in table:
        met = {True: "yes", False: "NO", None: "-"}[row.get("met")]
        memory = row.get("peak_mb", 0)
        note = row.get("peak_note", "")
        within = "" if memory <= MEMORY_MB else f" (over {MEMORY_MB} MB)"
        print(
            f"| {row['what']} | {row['figure']} "
            f"| {TARGETS.get(row.get('part', ''), '')}"
            f" | {met} | {memory:.0f} MB{within} ({note}) |"
        )


if __name__ == "__main__":
    main()
