"""Settings for bench/scale.py's load run: production's, with a plain Django view
beside the real routes (bench/load_urls.py), never in production's URLconf."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.load_urls"
