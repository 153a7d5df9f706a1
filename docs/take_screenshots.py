"""Screenshots for the README: sign in to a running `make run` and capture pages.

.venv/bin/python docs/take_screenshots.py [http://127.0.0.1:8000]
    [--only dashboard dashboard-charts ...] [--lang km] [--width 1280]

Every page by default; `--only` takes the names below. `--lang` asks the pages in
that language (the browser's Accept-Language) and adds `-<lang>` to the file
names. The dashboard is shot twice: the page as it opens (`dashboard`), and its
charts of the merchant's own currency (`dashboard-charts`). The reconciliation
report's first page is drawn from its PDF with `pdftoppm` (Debian's poppler-utils).
"""

import argparse
import subprocess
from pathlib import Path

from playwright.sync_api import sync_playwright

OUT = Path(__file__).parent / "screenshots"
PAGES = [
    ("dashboard", "/"),
    ("payments", "/payments/"),
    ("transactions", "/statements/transactions/"),
    ("imports", "/statements/imports/"),
]
RECONCILIATION = [
    ("reconciliation-queue", "/reconciliation/"),
    ("reconciliation-exceptions", "/reconciliation/exceptions/"),
]
EXTRA = [
    "dashboard-charts",
    "statements",
    "payment",
    "evidence",
    "reconciliation-report",
]
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("base", nargs="?", default="http://127.0.0.1:8000")
parser.add_argument(
    "--only",
    nargs="+",
    choices=[n for n, _ in PAGES + RECONCILIATION] + EXTRA,
    metavar="NAME",
)
parser.add_argument("--lang", default="", help="e.g. km: the pages in Khmer")
parser.add_argument("--width", type=int, default=1280)
options = parser.parse_args()
BASE = options.base.rstrip("/")
wanted = set(options.only or [n for n, _ in PAGES + RECONCILIATION] + EXTRA)
suffix = f"-{options.lang}" if options.lang else ""


def shot(name: str) -> Path:
    return OUT / f"{name}{suffix}.png"


with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_page(
        viewport={"width": options.width, "height": 820},
        locale=options.lang or "en-US",
        extra_http_headers=(
            {"Accept-Language": options.lang} if options.lang else None
        ),
    )
    page.goto(f"{BASE}/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{BASE}/")
    for name, path in PAGES + RECONCILIATION:
        if name not in wanted:
            continue
        page.goto(BASE + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=shot(name))
    if "dashboard-charts" in wanted:
        page.goto(BASE + "/")
        page.wait_for_load_state("networkidle")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        # the first currency's card (the merchant's own), with room around it
        page.locator(".chart-card").first.screenshot(path=shot("dashboard-charts"))
    if "statements" in wanted:
        page.goto(f"{BASE}/statements/")
        page.click("#statement-form button[type=submit]")  # last month, all accounts
        page.wait_for_load_state("networkidle")
        page.screenshot(path=shot("statements"))
    if "payment" in wanted:
        page.goto(f"{BASE}/payments/")
        first = page.locator("table a[href*='/payments/']").first
        if first.count():
            first.click()
            page.wait_for_load_state("networkidle")
            page.screenshot(path=shot("payment"))
    if "evidence" in wanted:
        # a paid KHQR code's chain: the code, its Bakong checks, the transaction,
        # the ledger line and the match with its rule
        page.goto(f"{BASE}/payments/?status=paid")
        page.locator("table a[href*='/payments/']").first.click()
        page.click("#evidence-link")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=shot("evidence"), full_page=True)
    if "reconciliation-report" in wanted:
        # the PDF's first page, as the auditor opens it (pdftoppm: poppler-utils)
        page.goto(f"{BASE}/reconciliation/report/")
        with page.expect_download() as download:
            page.click("#report-pdf")
        pdf = OUT / "reconciliation-report.pdf"
        download.value.save_as(pdf)
        png = shot("reconciliation-report")
        subprocess.run(
            ["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", "-singlefile"]
            + [str(pdf), str(png.with_suffix(""))],
            check=True,
        )
        pdf.unlink()
    browser.close()
print(f"screenshots in {OUT}")
