"""Webhooks: subscriptions, the durable outbox written with the event, signed deliveries."""
