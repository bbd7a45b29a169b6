"""The edges: socket gateways, the admin HTTP API, health endpoints."""
