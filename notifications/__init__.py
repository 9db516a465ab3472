"""Outbox delivery (in-app notifications, email over SMTP, SMS interface), after commit.

The engine writes outbox rows inside each command's transaction; :mod:`notifications.delivery`
claims and delivers them outside it (see docs/engine.md, "Deadlines that pass").
"""
