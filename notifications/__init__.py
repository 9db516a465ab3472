"""Outbox delivery (in-app, email, SMS): grows in the deadlines and notifications issue.

The engine writes outbox rows inside each command's transaction; nothing here runs inside
that transaction.
"""
