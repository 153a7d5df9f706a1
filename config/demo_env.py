"""Write the demo checkout's .env once (`make run` calls this): DEBUG on, and keys of
its own. An existing .env is never touched. A checkout whose var/ database was made
before .env existed keeps the built-in development keys, so its stored secrets and
demo API key still open.

Usage: python config/demo_env.py [PATH]   (default .env in the working directory)
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from cryptography.fernet import Fernet

HEADER = (
    "# Written once by `make run` for this demo checkout (DEBUG on, and with it the\n"
    "# sandbox). A deployment sets its own environment instead; see README.\n"
)


def demo_env_text(*, fresh: bool) -> str:
    lines = [HEADER.rstrip("\n"), "DEBUG=True"]
    if fresh:
        lines.append(f"SECRET_KEY=django-demo-{secrets.token_urlsafe(48)}")
        lines.append(f"FIELD_ENCRYPTION_KEYS={Fernet.generate_key().decode()}")
    else:
        lines.append(
            "# var/ already held a demo database: the built-in development keys stay"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    if path.exists():
        print(f"{path} exists: left as it is")
        return 0
    fresh = not (path.parent / "var" / "tonle.sqlite3").exists()
    old_umask = os.umask(0o077)  # the keys are for this user only
    try:
        path.write_text(demo_env_text(fresh=fresh))
    finally:
        os.umask(old_umask)
    print(f"wrote {path} for the demo (DEBUG on in this checkout only)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
