"""Himaya's tests (pytest): see conftest.py for the databases and servers they start."""
import os

# The master key of every test database (engine.crypto): set before any test module opens a
# database, and inherited by the processes the tests start (the command line, a served site).
os.environ.setdefault("HIMAYA_DATA_KEY", "dGVzdC1tYXN0ZXIta2V5LW9mLWhpbWF5YS0zMmJ5dGU")
