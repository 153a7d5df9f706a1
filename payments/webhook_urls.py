"""Inbound webhooks from providers and banks, mounted at /webhooks/."""

from django.urls import path

from payments import views

urlpatterns = [
    path("in/<int:connection_id>/", views.webhook_in, name="webhook-in"),
]
