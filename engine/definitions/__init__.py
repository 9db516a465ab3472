"""Pathway definitions: parse, validate, version, deploy, and compile for execution.

- :mod:`.parsing`: the hardened XML parse and the BPMN 2.0 schema check (the first two gates);
- :mod:`.rules`: Himaya's rules, one function per kind of element;
- :mod:`.checking`: :func:`~.checking.check_definition`, every gate in order;
- :mod:`.model`: what the gates produce (problems, user tasks, checked definitions);
- :mod:`.storage`: versions and deploys in the database;
- :mod:`.cache`: compiled definitions for execution, by content hash.
"""
