"""Settings for the real worker of tests/e2e/test_statement_packs.py: the default
settings with media in the folder the test process reads."""

import os

from config.settings import *  # noqa: F403

MEDIA_ROOT = os.environ["MEDIA_ROOT_E2E"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    },
}
