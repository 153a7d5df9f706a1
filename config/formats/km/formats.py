"""Khmer pages show days and numbers exactly as English ones (Django's own km
formats would write 12,50 and 2.375.600): see config/formats/en."""

from config.formats.en.formats import *  # noqa: F403
