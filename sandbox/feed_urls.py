"""The sandbox bank statement feed (see sandbox/feed.py): POST token, statement,
balance, and push (a demo helper that sends a signed transaction.posted to Tonle)."""

from django.urls import path

from sandbox import feed

urlpatterns = [
    path("token", feed.token, name="sandbox-feed-token"),
    path("statement", feed.statement, name="sandbox-feed-statement"),
    path("balance", feed.balance, name="sandbox-feed-balance"),
    path("push", feed.push, name="sandbox-feed-push"),
]
