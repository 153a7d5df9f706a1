"""The sandbox bank statement feed (see sandbox/feed.py): POST token/, statement/."""

from django.urls import path

from sandbox import feed

urlpatterns = [
    path("token", feed.token, name="sandbox-feed-token"),
    path("statement", feed.statement, name="sandbox-feed-statement"),
]
