"""Himaya's workflow engine: pathway definitions, runtime, store and projections.

The engine knows nothing of Flask or HTTP. Callers (the API, the CLI, the scheduler,
the benchmarks) go through :class:`engine.runtime.Engine`, built by
:func:`engine.assembly.assemble_engine`.
"""
