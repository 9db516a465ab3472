"""The REST API (``/api/v1``): one blueprint per concern, all behind :mod:`api.policy`."""
