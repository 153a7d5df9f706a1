"""A month of a realistic merchant, with its answer key.

The merchant sells over KHQR (wallets and a bank-held Bakong id) and invoices
business customers, who pay by bank transfer: with the reference, with a bank fee
taken, without a reference, with a typo in it, in instalments, several invoices at
once, from Thailand in baht, or through a KHQR code issued for the invoice. Some pay
twice, late, partly, or not at all; the merchant refunds some sales; the bank
books fees, supplier payments and credits nobody expected.

`month()` returns the records as Tonle keeps them (plain dicts) and the answer key;
`engine_rows()` turns the records into the engine's rows through the same builders
the services use. The key is what really happened, written by the generator as it
makes each event, never read back from an engine result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from reconciliation.engine import Settings
from reconciliation.engine.build import (
    Shared,
    bakong_posted,
    fx_leg,
    invoice_expected,
    khqr_expected,
    line_posted,
    refund_expected,
)
from reconciliation.engine.identity import PostedTokens
from reconciliation.engine.refs import party_key

FIRST = dt.date(2026, 11, 1)
DAYS = 30
USD_KHR = 4_010  # riel per dollar (a plain NBC-like figure)
THB_USD = "0.028571"  # dollars per baht


@dataclass
class Scenario:
    payment_requests: list[dict] = field(default_factory=list)
    bakong: list[dict] = field(default_factory=list)  # recorded Bakong transactions
    invoices: list[dict] = field(default_factory=list)
    refunds: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    rates: dict[tuple[int, str, str], str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    # the answer key: (expected id, posted id) for every true pairing
    truth: set[tuple[str, str]] = field(default_factory=set)
    duplicates: set[str] = field(default_factory=set)  # posted ids paying again
    expect_findings: dict[str, set[str]] = field(default_factory=dict)
    as_of: dt.date = FIRST + dt.timedelta(days=DAYS + 14)

    def settings(self) -> Settings:
        return Settings(
            aliases=self.aliases, rates=self.rates, as_of=self.as_of.toordinal()
        )

    def note(self, reason: str, row_id: str) -> None:
        self.expect_findings.setdefault(reason, set()).add(row_id)


class _Maker:
    def __init__(self, seed: int, customers: int) -> None:
        self.rng = random.Random(seed)
        self.s = Scenario()
        self.ids = {"pr": 0, "bk": 0, "inv": 0, "rf": 0, "ln": 0}
        self.customers = [self._customer(n) for n in range(customers)]

    def next_id(self, kind: str) -> int:
        self.ids[kind] += 1
        return self.ids[kind]

    def _customer(self, n: int) -> dict:
        rng = self.rng
        first = rng.choice(
            ["Sok", "Chan", "Lim", "Keo", "Srey", "Bopha", "Heng", "Dara", "Vanna"]
        )
        last = rng.choice(
            ["Dara", "Sophea", "Heng", "Vanna", "Mom", "Rith", "Pisey", "Nary"]
        )
        trade = rng.choice(["Trading", "Mart", "Import Export", "Pharmacy", "Cafe"])
        name = f"{first} {last} {trade} {n}"
        # how the bank writes the payer: often not the name on the invoice
        style = rng.random()
        if style < 0.5:
            bank_name = name.upper()
        elif style < 0.8:
            bank_name = f"{first.upper()} {last.upper()} {n}"
        else:
            bank_name = f"{name} Co., Ltd."
        return {
            "name": name,
            "bank_name": bank_name,
            "account": f"{rng.randint(100, 999)}-{rng.randint(100000, 999999)}-{n}",
            "confirmed": rng.random() < 0.4,
        }

    # -- helpers ----------------------------------------------------------------

    def day(self, offset: int) -> dt.date:
        return FIRST + dt.timedelta(days=offset)

    def line(self, **fields) -> str:
        pk = self.next_id("ln")
        row = {
            "pk": pk,
            "external_id": f"T{pk:08d}",
            "reference": "",
            "description": "",
            "counterparty": "",
            "counterparty_account": "",
            "bakong_hash": "",
            "bakong_pk": None,
            "fx": None,
            "fx_mismatch": False,
        } | fields
        self.s.lines.append(row)
        return f"ln:{pk}"

    def bakong(self, request: dict, *, amount_minor: int, currency: str, day) -> dict:
        pk = self.next_id("bk")
        digest = hashlib.sha256(f"bk{pk}-{self.rng.random()}".encode()).hexdigest()
        row = {
            "pk": pk,
            "hash": digest,
            "md5": request["md5"],
            "external_ref": f"100FT{self.rng.randint(10**10, 10**11 - 1)}",
            "amount_minor": amount_minor,
            "currency": currency,
            "day": day,
            "payer_account": f"payer{self.rng.randint(1, 10**6)}@aclb",
            "request_pk": request["pk"],
            "has_line": False,
        }
        self.s.bakong.append(row)
        return row

    def code(self, *, amount_minor: int, currency: str, day, bill: str = "") -> dict:
        pk = self.next_id("pr")
        order = f"ORD-{pk:06d}"
        row = {
            "pk": pk,
            "md5": hashlib.md5(f"code{pk}".encode()).hexdigest(),  # noqa: S324
            "order_id": order,
            "bill_number": bill,
            "amount_minor": amount_minor,
            "currency": currency,
            "created": day,
            "expires": day,  # a 15-minute code expires the day it was made
            "flags": (),
        }
        self.s.payment_requests.append(row)
        return row

    def invoice(self, customer: dict, *, amount_minor: int, currency: str, day) -> dict:
        pk = self.next_id("inv")
        row = {
            "pk": pk,
            "number": f"INV-2026-{pk:05d}",
            "customer": customer["name"],
            "customer_account": customer["account"] if self.rng.random() < 0.3 else "",
            "reference": "",
            "amount_minor": amount_minor,
            "currency": currency,
            "issue": day,
            "due": day + dt.timedelta(days=self.rng.choice([7, 14, 30])),
        }
        self.s.invoices.append(row)
        return row

    def usd(self, low: int, high: int) -> int:
        """A price: often a round figure, else any cents."""
        cents = (
            self.rng.choice([0, 0, 50, 99, 25])
            if self.rng.random() < 0.4
            else (self.rng.randrange(100))
        )
        return self.rng.randint(low, high) * 100 + cents

    def khr(self, low: int, high: int) -> int:
        return self.rng.randint(low, high) * 100 * 100  # whole hundreds of riel

    def pays_on(self, invoice: dict, *, late: bool = False) -> dt.date:
        if late:
            return invoice["due"] + dt.timedelta(days=self.rng.randint(1, 5))
        span = (invoice["due"] - invoice["issue"]).days
        return invoice["issue"] + dt.timedelta(days=self.rng.randint(0, span))

    def transfer_text(self, invoice: dict, customer: dict) -> tuple[str, str]:
        number = invoice["number"]
        style = self.rng.randrange(5)
        if style == 0:
            return number, f"TRF FROM {customer['bank_name']}"
        if style == 1:
            return "", f"PAYMENT {number} {customer['bank_name']}"
        if style == 2:
            return "", f"{number.lower().replace('-', ' ')} thank you"
        if style == 3:
            tail = number.split("-")[-1]
            return f"INV/2026/{tail}", ""
        return "", f"Payment for {number.replace('INV-', 'inv.')}"


# -- the month -----------------------------------------------------------------


def month(*, invoices: int = 300, sales: int = 600, seed: int = 7) -> Scenario:
    """One month; `invoices` business invoices and `sales` KHQR codes, with the
    mix of events described in the module docstring."""
    m = _Maker(seed, customers=max(4, invoices // 6))
    s = m.s
    for customer in m.customers:
        if customer["confirmed"]:
            s.aliases[party_key(customer["bank_name"])] = party_key(customer["name"])
    for offset in range(DAYS + 14):
        s.rates[(m.day(offset).toordinal(), "THB", "USD")] = THB_USD
        s.rates[(m.day(offset).toordinal(), "USD", "KHR")] = str(USD_KHR)
    _sales(m, sales)
    _invoices(m, invoices)
    _noise(m, max(10, (invoices + sales) // 20))
    return s


def _sales(m: _Maker, count: int) -> None:
    s, rng = m.s, m.rng
    for _ in range(count):
        day = m.day(rng.randrange(DAYS))
        usd = rng.random() < 0.5
        currency = "USD" if usd else "KHR"
        amount = m.usd(1, 60) if usd else m.khr(10, 2_000)
        code = m.code(amount_minor=amount, currency=currency, day=day)
        fate = rng.random()
        if fate < 0.10:
            continue  # never paid: the code expires, nothing to reconcile
        pr_id = f"pr:{code['pk']}"
        if fate < 0.13:
            # paid after expiry
            paid_day = day + dt.timedelta(days=rng.randint(2, 4))
            code["flags"] = ("late",)
            bt = m.bakong(code, amount_minor=amount, currency=currency, day=paid_day)
            s.truth.add((pr_id, _wallet_line(m, bt, code)))
            s.note("late_payment", pr_id)
            continue
        if fate < 0.15:
            # paid another amount
            paid = amount // 2 if currency == "USD" else amount // 2 // 100 * 100
            bt = m.bakong(code, amount_minor=paid, currency=currency, day=day)
            s.truth.add((pr_id, _wallet_line(m, bt, code)))
            s.note("underpaid", pr_id)
            continue
        bt = m.bakong(code, amount_minor=amount, currency=currency, day=day)
        where = rng.random()
        if where < 0.75:
            s.truth.add((pr_id, _wallet_line(m, bt, code)))
        elif where < 0.9:
            # the Bakong id is held at a bank: the bank's own line carries the
            # hash (sometimes only the 8-character short hash)
            printed = bt["hash"] if rng.random() < 0.6 else bt["hash"][:8]
            bt["has_line"] = True
            ln = m.line(
                # the chain links the bank's line to its Bakong record when both
                # are in; a few are not yet, and the engine reads the hash
                bakong_pk=bt["pk"] if rng.random() < 0.9 else None,
                account="bank_" + currency,
                amount_minor=amount,
                currency=currency,
                day=day + dt.timedelta(days=rng.randint(0, 1)),
                description=f"KHQR PAYMENT {printed[:8]}",
                bakong_hash=printed,
            )
            s.truth.add((pr_id, ln))
        else:
            s.truth.add((pr_id, f"bk:{bt['pk']}"))  # the bank has not reported it
        if rng.random() < 0.02:
            later = day + dt.timedelta(days=rng.randint(2, 4))
            again = m.bakong(code, amount_minor=amount, currency=currency, day=later)
            s.duplicates.add(_wallet_line(m, again, code))
            s.note("duplicate_payment", pr_id)
        if rng.random() < 0.03:
            _refund(m, code, bt, day)


def _wallet_line(m: _Maker, bt: dict, code: dict) -> str:
    bt["has_line"] = True
    return m.line(
        account="wallet_" + bt["currency"],
        amount_minor=bt["amount_minor"],
        currency=bt["currency"],
        day=bt["day"],
        external_id=bt["hash"],
        reference=code["bill_number"] or code["order_id"],
        description="KHQR payment",
        counterparty_account=bt["payer_account"],
        bakong_hash=bt["hash"],
        bakong_pk=bt["pk"],
    )


def _refund(m: _Maker, code: dict, bt: dict, day: dt.date) -> None:
    s, rng = m.s, m.rng
    pk = m.next_id("rf")
    reference = f"RF{rng.randint(10**7, 10**8 - 1)}"
    refunded = code["amount_minor"]
    when = day + dt.timedelta(days=rng.randint(1, 5))
    s.refunds.append(
        {
            "pk": pk,
            "bank_reference": reference,
            "amount_minor": refunded,
            "currency": code["currency"],
            "day": when,
            "payer_account": bt["payer_account"],
            "request_pk": code["pk"],
        }
    )
    ln = m.line(
        account="wallet_" + code["currency"],
        amount_minor=-refunded,
        currency=code["currency"],
        day=when,
        reference=reference,
        description="Refund to customer",
        counterparty_account=bt["payer_account"],
    )
    s.truth.add((f"rf:{pk}", ln))


def _invoices(m: _Maker, count: int) -> None:
    s, rng = m.s, m.rng
    made = 0
    while made < count:
        customer = rng.choice(m.customers)
        currency = "USD" if rng.random() < 0.8 else "KHR"
        amount = m.usd(50, 3_000) if currency == "USD" else m.khr(500, 20_000)
        day = m.day(rng.randrange(DAYS - 5))
        fate = rng.random()
        if fate < 0.06 and made + 3 <= count:
            made += _several_at_once(m, customer, currency, day)
            continue
        invoice = m.invoice(customer, amount_minor=amount, currency=currency, day=day)
        made += 1
        inv_id = f"inv:{invoice['pk']}"
        reference, description = m.transfer_text(invoice, customer)
        common = {
            "account": "bank_" + currency,
            "currency": currency,
            "counterparty": customer["bank_name"],
            "counterparty_account": customer["account"],
        }
        if fate < 0.40:  # exact, with its reference
            ln = m.line(
                amount_minor=amount,
                day=m.pays_on(invoice),
                reference=reference,
                description=description,
                **common,
            )
            s.truth.add((inv_id, ln))
        elif fate < 0.50:  # the bank took its fee
            fee = min(100, amount // 200) if currency == "USD" else 400_000
            ln = m.line(
                amount_minor=amount - fee,
                day=m.pays_on(invoice),
                reference=reference,
                description=description,
                **common,
            )
            s.truth.add((inv_id, ln))
        elif fate < 0.60:  # no reference: the customer's name and the amount
            ln = m.line(
                amount_minor=amount,
                day=m.pays_on(invoice),
                description=f"TRANSFER FROM {customer['bank_name']}",
                **common,
            )
            s.truth.add((inv_id, ln))
        elif fate < 0.66:  # a typo in the reference
            ln = m.line(
                amount_minor=amount,
                day=m.pays_on(invoice),
                description=f"PAYMENT {_typo(rng, invoice['number'])}",
                **common | {"counterparty": "", "counterparty_account": ""},
            )
            s.truth.add((inv_id, ln))
        elif fate < 0.72:  # instalments
            parts = rng.choice([2, 3])
            cuts = sorted(rng.sample(range(1, 100), parts - 1))
            shares = [b - a for a, b in zip([0, *cuts], [*cuts, 100], strict=True)]
            unit = 100 if currency == "USD" else 10_000
            left = amount
            for k, share in enumerate(shares):
                piece = (
                    left
                    if k == parts - 1
                    else max(unit, amount * share // 100 // unit * unit)
                )
                left -= piece
                ln = m.line(
                    amount_minor=piece,
                    day=m.pays_on(invoice),
                    description=f"{invoice['number']} part {k + 1}",
                    **common,
                )
                s.truth.add((inv_id, ln))
        elif fate < 0.77 and currency == "USD":  # from Thailand, in baht
            baht = amount * 1_000_000 // 28_571  # at THB_USD
            ln = m.line(
                account="bank_THB",
                currency="THB",
                amount_minor=baht,
                day=m.pays_on(invoice),
                description=f"CROSSBORDER {invoice['number']}"
                if rng.random() < 0.5
                else "CROSS BORDER QR",
                counterparty=customer["bank_name"],
                fx={"original_minor": amount, "original_currency": "USD", "rate": "35"}
                if rng.random() < 0.5
                else None,
            )
            s.truth.add((inv_id, ln))
        elif fate < 0.82:  # through a KHQR code issued for the invoice
            day_paid = m.pays_on(invoice)
            code = m.code(
                amount_minor=amount,
                currency=currency,
                day=day_paid,
                bill=invoice["number"],
            )
            bt = m.bakong(code, amount_minor=amount, currency=currency, day=day_paid)
            ln = _wallet_line(m, bt, code)
            s.truth.add((inv_id, ln))
            s.truth.add((f"pr:{code['pk']}", ln))
        elif fate < 0.85:  # paid twice: the earlier payment pays it
            days = sorted(m.pays_on(invoice) for _ in range(2))
            for n, paid_on in enumerate(days):
                ln = m.line(
                    amount_minor=amount,
                    day=paid_on,
                    description=f"PAYMENT {invoice['number']}",
                    **common,
                )
                if n == 0:
                    s.truth.add((inv_id, ln))
                else:
                    s.duplicates.add(ln)
            s.note("duplicate_payment", inv_id)
        elif fate < 0.88:  # paid in part, the rest never came
            ln = m.line(
                amount_minor=amount // 2 // 100 * 100 or amount,
                day=m.pays_on(invoice),
                description=f"PAYMENT {invoice['number']} (part)",
                **common,
            )
            s.truth.add((inv_id, ln))
            s.note("underpaid", inv_id)
        elif fate < 0.92:  # paid late, with its reference
            ln = m.line(
                amount_minor=amount,
                day=m.pays_on(invoice, late=True),
                reference=reference,
                description=description,
                **common,
            )
            s.truth.add((inv_id, ln))
        else:  # not paid
            if invoice["due"] + dt.timedelta(days=7) < s.as_of:
                s.note("unpaid_item", inv_id)


def _several_at_once(m: _Maker, customer: dict, currency: str, day: dt.date) -> int:
    s, rng = m.s, m.rng
    count = rng.choice([2, 3])
    made = [
        m.invoice(
            customer,
            amount_minor=m.usd(20, 800) if currency == "USD" else m.khr(200, 5_000),
            currency=currency,
            day=day,
        )
        for _ in range(count)
    ]
    total = sum(i["amount_minor"] for i in made)
    named = rng.random() < 0.6
    ln = m.line(
        account="bank_" + currency,
        currency=currency,
        amount_minor=total,
        day=day + dt.timedelta(days=rng.randint(1, 6)),
        description=("PAYMENT " + ", ".join(i["number"] for i in made))
        if named
        else f"TRANSFER FROM {customer['bank_name']}",
        counterparty=customer["bank_name"],
        counterparty_account=customer["account"],
    )
    for invoice in made:
        invoice["customer_account"] = customer["account"]
        s.truth.add((f"inv:{invoice['pk']}", ln))
    return count


def _typo(rng: random.Random, number: str) -> str:
    """A slip a person makes typing INV-2026-00042: two neighbours swapped, or one
    digit doubled, or one dropped."""
    head, tail = number.rsplit("-", 1)
    digits = list(tail.lstrip("0") or "0")
    kind = rng.randrange(3)
    if kind == 0 and len(digits) >= 2:
        k = rng.randrange(len(digits) - 1)
        digits[k], digits[k + 1] = digits[k + 1], digits[k]
    elif kind == 1:
        k = rng.randrange(len(digits))
        digits.insert(k, digits[k])
    else:
        digits.append(str(rng.randrange(10)))
    return f"{head}-{''.join(digits)}"


def _noise(m: _Maker, count: int) -> None:
    s, rng = m.s, m.rng
    for _ in range(count):
        kind = rng.random()
        day = m.day(rng.randrange(DAYS))
        if kind < 0.4:  # supplier payments and bank fees: debits nobody expected
            m.line(
                account="bank_USD",
                currency="USD",
                amount_minor=-m.usd(5, 900),
                day=day,
                description=rng.choice(["SUPPLIER PAYMENT", "MONTHLY FEE", "RENT"]),
            )
        elif kind < 0.85:  # a credit nobody expected
            ln = m.line(
                account="bank_USD",
                currency="USD",
                amount_minor=m.usd(5, 900),
                day=day,
                description=rng.choice(["CASH DEPOSIT", "TRANSFER", "INTEREST"]),
                counterparty=rng.choice(["UNKNOWN", "CASH", ""]),
            )
            s.note("unmatched_line", ln)
        else:  # a cross-border line whose rate does not add up
            ln = m.line(
                account="bank_THB",
                currency="THB",
                amount_minor=m.usd(100, 9_000),
                day=day,
                description="CROSSBORDER",
                fx={"original_minor": 1_000, "original_currency": "USD", "rate": "1"},
                fx_mismatch=True,
            )
            s.note("fx_mismatch", ln)
            s.note("unmatched_line", ln)


# -- the engine's rows ----------------------------------------------------------


def engine_rows(s: Scenario, *, lean: bool = False) -> tuple[list, list]:
    """The scenario as the services would hand it to the engine; `lean`: each
    code holds only the tokens the lines can ask it for, as a run loads it."""
    shared = Shared()  # both sides: a pair's tokens are one object
    by_request: dict[int, list[dict]] = {}
    for bt in s.bakong:
        by_request.setdefault(bt["request_pk"], []).append(bt)
    bakong_by_pk = {b["pk"]: b for b in s.bakong}
    posted = []
    for ln in s.lines:
        linked = None
        if ln["bakong_pk"]:
            b = bakong_by_pk[ln["bakong_pk"]]
            linked = (b["hash"], b["md5"], b["external_ref"])
        fx = None
        if ln["fx"]:
            fx = fx_leg(
                original_minor=ln["fx"]["original_minor"],
                original_currency=ln["fx"]["original_currency"],
                rate=ln["fx"]["rate"],
                shared=shared,
            )
        posted.append(
            line_posted(
                pk=ln["pk"],
                external_id=ln["external_id"],
                reference=ln["reference"],
                description=ln["description"],
                counterparty=ln["counterparty"],
                counterparty_account=ln["counterparty_account"],
                amount_minor=ln["amount_minor"],
                currency=ln["currency"],
                day=ln["day"].toordinal(),
                bakong_hash=ln["bakong_hash"],
                linked=linked,
                fx=fx,
                fx_mismatch=ln["fx_mismatch"],
                shared=shared,
            )
        )
    posted += [
        bakong_posted(
            pk=b["pk"],
            hash=b["hash"],
            md5=b["md5"],
            external_ref=b["external_ref"],
            amount_minor=b["amount_minor"],
            currency=b["currency"],
            day=b["day"].toordinal(),
            payer_account=b["payer_account"],
            shared=shared,
        )
        for b in s.bakong
        if not b["has_line"]
    ]
    askable = PostedTokens(posted) if lean else None
    expected = [
        khqr_expected(
            pk=r["pk"],
            md5=r["md5"],
            order_id=r["order_id"],
            bill_number=r["bill_number"],
            amount_minor=r["amount_minor"],
            currency=r["currency"],
            created_day=r["created"].toordinal(),
            expires_day=r["expires"].toordinal(),
            payments=[
                (
                    b["hash"],
                    b["md5"],
                    b["external_ref"],
                    b["amount_minor"],
                    b["currency"],
                )
                for b in by_request.get(r["pk"], ())
            ],
            flags=r["flags"],
            shared=shared,
            askable=askable,
        )
        for r in s.payment_requests
    ]
    expected += [
        invoice_expected(
            pk=i["pk"],
            number=i["number"],
            customer=i["customer"],
            customer_account=i["customer_account"],
            reference=i["reference"],
            amount_minor=i["amount_minor"],
            currency=i["currency"],
            issue_day=i["issue"].toordinal(),
            due_day=i["due"].toordinal(),
            shared=shared,
        )
        for i in s.invoices
    ]
    expected += [
        refund_expected(
            pk=r["pk"],
            bank_reference=r["bank_reference"],
            amount_minor=r["amount_minor"],
            currency=r["currency"],
            day=r["day"].toordinal(),
            payer_account=r["payer_account"],
            refunds_pk=r["request_pk"],
            shared=shared,
        )
        for r in s.refunds
    ]
    return expected, posted


@dataclass(frozen=True)
class Score:
    auto_pairs: int
    auto_correct: int
    true_pairs: int
    found: int
    duplicates: int
    duplicates_flagged: int

    @property
    def precision(self) -> float:
        return self.auto_correct / self.auto_pairs if self.auto_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.found / self.true_pairs if self.true_pairs else 1.0


def score(s: Scenario, result) -> Score:
    """Automatic pairs that are true, and true pairs found (auto + proposed)."""
    auto: set[tuple[str, str]] = set()
    every: set[tuple[str, str]] = set()
    for match in result.matches:
        pairs = {(e, p) for e in match.expected_ids for p in match.posted_ids}
        every |= pairs
        if match.status == "auto":
            auto |= pairs
    flagged = {
        p
        for f in result.findings
        if f.reason == "duplicate_payment"
        for p in f.posted_ids
    }
    return Score(
        auto_pairs=len(auto),
        auto_correct=len(auto & s.truth),
        true_pairs=len(s.truth),
        found=len(every & s.truth),
        duplicates=len(s.duplicates),
        duplicates_flagged=len(s.duplicates & flagged),
    )
