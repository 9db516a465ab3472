"""Service-task handlers by name (see :mod:`handlers.registry`)."""
from . import partners, registry  # noqa: F401  (importing registers the handlers)
