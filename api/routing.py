"""URL rules whose URL builders are compiled when first used.

Werkzeug compiles two small Python functions per rule (building its URL with and without extra
query arguments) as soon as the rule is added: for Himaya's ~200 rules that is most of the cost
of creating the application, paid again by every worker and every test application, for rules
most of which a given process never builds a URL for. :class:`LazyBuilderRule` compiles each
builder on its first use, then keeps it: the URLs built are the same
(``tests/test_routing.py``)."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule

_COMPILES_BUILDERS = callable(getattr(Rule, "_compile_builder", None))


class LazyBuilderRule(Rule):
    """A werkzeug rule that compiles its URL builders on first use."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        attribute = "_build_unknown" if append_unknown else "_build"
        compile_now = super()._compile_builder

        def build_then_keep(rule: LazyBuilderRule, **values: Any) -> tuple[str, str]:
            builder = compile_now(append_unknown).__get__(rule, None)
            setattr(rule, attribute, builder)  # the next URL of this rule goes straight to it
            return builder(**values)

        return build_then_keep


def rule_class() -> type[Rule]:
    """The rule class for the application: the lazy one while werkzeug compiles builders the way
    it is written against, else werkzeug's own."""
    return LazyBuilderRule if _COMPILES_BUILDERS else Rule
