"""Helpers for the zenml 0.98.0 compatibility suite (servers, clients, REST)."""
