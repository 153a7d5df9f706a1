"""Payment services: payment requests, refunds, webhooks in and out."""
