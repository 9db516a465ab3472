"""The read layer between HTTP and the store: what the REST API and the pages show.

Every reader takes a :class:`~api.readers.context.ReadContext` (the engine, who reads, in
which language, as of when), opens its own read session, filters every query by the access
policy in SQL (:mod:`api.policy`) and returns plain values ready to serialise or render. A
record the caller may not see raises the engine's :class:`~engine.errors.NotFound`, which the
application answers with 404 (JSON under ``/api/``, the error page elsewhere).

Writes do not come here: they are the engine's commands (:mod:`engine.runtime`). Neither the
REST blueprints (``api/rest``) nor the pages (``api/web``) build a query of their own.

| module | reads |
|---|---|
| :mod:`.tasks` | a task, task lists, a case's open tasks, the task and command presenters |
| :mod:`.cases` | a case, the case list, the case file, its history, its diagram |
| :mod:`.supervision` | overdue tasks, stalled cases, counts, the supervision dashboard |
| :mod:`.reports` | statistical reports, and which report or plan a non-child case runs |
| :mod:`.plans` | action plans and their versions |
| :mod:`.territory` | provinces, units, trainings, indicators |
| :mod:`.notifications` | a user's notifications and the outbox |
| :mod:`.pathways` | pathway versions, forms and drafts (administration); what a user may start (`start_offer`) |
"""
