"""The subscription web application (a plain WSGI callable): see `app.py` for its paths."""

from __future__ import annotations

from .app import SubscriptionApp, make_app

__all__ = ["SubscriptionApp", "make_app"]
