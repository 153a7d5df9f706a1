"""Screenshots for the README: sign in to a running `make run` and capture pages.

.venv/bin/python docs/take_screenshots.py [http://127.0.0.1:8000]
"""

import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

BASE = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000"
OUT = Path(__file__).parent / "screenshots"
PAGES = [
    ("dashboard", "/"),
    ("payments", "/payments/"),
    ("transactions", "/statements/transactions/"),
    ("imports", "/statements/imports/"),
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

with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    page = browser.new_page(viewport={"width": 1280, "height": 820})
    page.goto(f"{BASE}/login/")
    page.fill("#id_username", "demo")
    page.fill("#id_password", "tonle-demo")
    page.click("button[type=submit]")
    page.wait_for_url(f"{BASE}/")
    for name, path in PAGES:
        page.goto(BASE + path)
        page.wait_for_load_state("networkidle")
        page.screenshot(path=OUT / f"{name}.png")
    page.goto(f"{BASE}/statements/")
    page.click("text=Preview")  # last month, every account
    page.wait_for_load_state("networkidle")
    page.screenshot(path=OUT / "statements.png")
    page.goto(f"{BASE}/payments/")
    first = page.locator("table a[href*='/payments/']").first
    if first.count():
        first.click()
        page.wait_for_load_state("networkidle")
        page.screenshot(path=OUT / "payment.png")
    browser.close()
print(f"screenshots in {OUT}")
