"""The expression sandbox for BPMN conditions and timer expressions.

SpiffWorkflow's ``PythonScriptEngine`` runs plain ``eval``/``exec``; even with
RestrictedPython's globals, ``().__class__.__base__.__subclasses__()`` reaches ``os``.
Himaya never hands an expression to ``eval``: it parses it with :mod:`ast`, accepts only an
allow-list of node types, and interprets the tree itself. There is no attribute access at
all, no calls except the helpers of :data:`HELPERS`, no names except task data and those
helpers, and every operation that could build a large value is checked *before* it runs: a
repetition (``s * n``) or concatenation (``a + b``) whose result would hold more than
:data:`MAX_SEQUENCE_LENGTH` elements or characters (nested ones counted), a product of
integers past :data:`MAX_INT_DIGITS` digits, and ``%`` on text (printf-style formatting,
whose width and precision allocate before anything could bound the result) are refused;
``**``, f-strings and ``str.format`` are not in the language. ``str()`` takes text, a number,
a boolean or None; ``int()`` a number or a short text.

The language: literals (str, int, float, True/False/None, lists, tuples, sets, dicts),
variable names (task data), ``and``/``or``/``not``, ``+ - * / // %``, unary ``-``/``+``,
comparisons (``== != < <= > >= in not in is is not``), ``x if c else y``, subscripts
``d[k]`` / ``s[i]`` (no slices), and helper calls with positional arguments.
"""
from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

MAX_EXPRESSION_LENGTH = 2000
MAX_NODES = 400
MAX_SEQUENCE_LENGTH = 10_000
MAX_INT_DIGITS = 60
_MAX_INT_BITS = (10**MAX_INT_DIGITS).bit_length()
_TEXT_FORMATTING = "text formatting with % is not allowed"


class SandboxError(Exception):
    """The expression is not allowed (at check time) or failed (at run time)."""


def _has_any(left: Any, right: Any) -> bool:
    """True when the two collections share at least one element."""
    return bool(set(_as_items(left)) & set(_as_items(right)))


def _has_all(left: Any, right: Any) -> bool:
    """True when every element of ``right`` is in ``left``."""
    return set(_as_items(right)) <= set(_as_items(left))


def _as_items(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple, set, frozenset)):
        return [v for v in value if isinstance(v, (str, int, float, bool)) or v is None]
    if isinstance(value, (str, int, float, bool)):
        return [value]
    raise SandboxError("has_any/has_all expect lists of simple values")


def _safe_len(value: Any) -> int:
    if isinstance(value, (str, list, tuple, dict, set, frozenset)):
        return len(value)
    if value is None:
        return 0
    raise SandboxError("len() expects a string, list or mapping")


def _safe_str(value: Any) -> str:
    if value is None or isinstance(value, (str, int, float, bool)):
        return str(value)  # bounded: text and integers already are, a float's text is short
    raise SandboxError("str() takes text, a number, a boolean or None")


def _safe_int(value: Any, *base: Any) -> int:
    if isinstance(value, str) and len(value.strip()) > MAX_INT_DIGITS + 1:
        raise SandboxError("number too large")
    if isinstance(value, float) and abs(value) >= 10.0**MAX_INT_DIGITS:
        raise SandboxError("number too large")
    return int(value, *base)


HELPERS: dict[str, Callable[..., Any]] = {
    "has_any": _has_any,
    "has_all": _has_all,
    "len": _safe_len,
    "abs": abs,
    "min": min,
    "max": max,
    "bool": bool,
    "int": _safe_int,
    "float": float,
    "str": _safe_str,
}

_BIN_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_UNARY_OPS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression, ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.BinOp, ast.Compare,
    ast.IfExp, ast.Name, ast.Load, ast.Constant, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.Subscript, ast.Call,
    *_BIN_OPS, *_UNARY_OPS, *_COMPARE_OPS,
)


def check(expression: str) -> ast.Expression:
    """Parse ``expression`` and verify it uses only the sandbox language.

    Returns the parsed tree; raises :class:`SandboxError` with a clear message otherwise.
    """
    if not isinstance(expression, str):
        raise SandboxError("an expression must be text")
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise SandboxError(f"expression longer than {MAX_EXPRESSION_LENGTH} characters")
    if "__" in expression:
        raise SandboxError("names with double underscores are not allowed")
    try:
        tree = ast.parse(expression.strip(), mode="eval")
    except SyntaxError as exc:
        raise SandboxError(f"not a valid expression: {exc.msg}") from None
    count = 0
    for node in ast.walk(tree):
        count += 1
        if count > MAX_NODES:
            raise SandboxError(f"expression has more than {MAX_NODES} elements")
        if isinstance(node, ast.Attribute):
            raise SandboxError("attribute access (a.b) is not allowed")
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            raise SandboxError("lambdas and comprehensions are not allowed")
        if isinstance(node, ast.Slice):
            raise SandboxError("slices are not allowed")
        if not isinstance(node, _ALLOWED_NODES):
            raise SandboxError(f"'{type(node).__name__}' is not allowed in an expression")
        if isinstance(node, ast.Name) and node.id.startswith("_"):
            raise SandboxError(f"name '{node.id}' is not allowed (leading underscore)")
        if isinstance(node, ast.Constant) and not isinstance(node.value, (str, int, float, bool, type(None))):
            raise SandboxError("only text, number, boolean and None constants are allowed")
        if (isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant)
                and isinstance(node.left.value, str)):
            raise SandboxError(_TEXT_FORMATTING)
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in HELPERS:
                allowed = ", ".join(sorted(HELPERS))
                raise SandboxError(f"only these functions may be called: {allowed}")
            if node.keywords:
                raise SandboxError("keyword arguments are not allowed")
            if any(isinstance(a, ast.Starred) for a in node.args):
                raise SandboxError("starred arguments are not allowed")
    return tree


def names_used(expression: str) -> set[str]:
    """The data variables an expression reads (helpers excluded)."""
    tree = check(expression)
    return {
        n.id for n in ast.walk(tree)
        if isinstance(n, ast.Name) and n.id not in HELPERS and n.id not in ("True", "False", "None")
    }


class _Interpreter:
    def __init__(self, data: Mapping[str, Any]) -> None:
        self.data = data

    def run(self, node: ast.AST) -> Any:
        method = getattr(self, "_" + type(node).__name__, None)
        if method is None:  # pragma: no cover - check() already refused it
            raise SandboxError(f"'{type(node).__name__}' is not allowed")
        return _bounded(method(node))

    def _Expression(self, node: ast.Expression) -> Any:
        return self.run(node.body)

    def _Constant(self, node: ast.Constant) -> Any:
        return node.value

    def _Name(self, node: ast.Name) -> Any:
        if node.id in self.data:
            return self.data[node.id]
        if node.id in HELPERS:
            raise SandboxError(f"'{node.id}' is a function: call it")
        raise SandboxError(f"name '{node.id}' is not defined")

    def _List(self, node: ast.List) -> Any:
        return [self.run(e) for e in node.elts]

    def _Tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.run(e) for e in node.elts)

    def _Set(self, node: ast.Set) -> Any:
        return {self.run(e) for e in node.elts}

    def _Dict(self, node: ast.Dict) -> Any:
        keys = [k for k in node.keys if k is not None]  # None stands for a ** spread
        if len(keys) != len(node.keys):
            raise SandboxError("dict unpacking is not allowed")
        return {self.run(k): self.run(v) for k, v in zip(keys, node.values)}

    def _BoolOp(self, node: ast.BoolOp) -> Any:
        value: Any = None
        if isinstance(node.op, ast.And):
            for e in node.values:
                value = self.run(e)
                if not value:
                    return value
            return value
        for e in node.values:
            value = self.run(e)
            if value:
                return value
        return value

    def _UnaryOp(self, node: ast.UnaryOp) -> Any:
        return _UNARY_OPS[type(node.op)](self.run(node.operand))

    def _BinOp(self, node: ast.BinOp) -> Any:
        left, right = self.run(node.left), self.run(node.right)
        _check_operation(node.op, left, right)
        return _BIN_OPS[type(node.op)](left, right)

    def _Compare(self, node: ast.Compare) -> Any:
        left = self.run(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.run(comparator)
            if not _COMPARE_OPS[type(op)](left, right):
                return False
            left = right
        return True

    def _IfExp(self, node: ast.IfExp) -> Any:
        return self.run(node.body) if self.run(node.test) else self.run(node.orelse)

    def _Subscript(self, node: ast.Subscript) -> Any:
        container = self.run(node.value)
        key = self.run(node.slice)
        if not isinstance(container, (dict, list, tuple, str)):
            raise SandboxError("only mappings, lists and text can be indexed")
        try:
            return container[key]
        except (KeyError, IndexError, TypeError):
            raise SandboxError(f"no element {key!r}") from None

    def _Call(self, node: ast.Call) -> Any:
        assert isinstance(node.func, ast.Name)
        return HELPERS[node.func.id](*[self.run(a) for a in node.args])


_SEQUENCES = (str, list, tuple)


def _check_operation(op: ast.operator, left: Any, right: Any) -> None:
    """Refuse an operation whose result would be too large, before it runs."""
    if isinstance(op, ast.Mod) and isinstance(left, (str, bytes)):
        raise SandboxError(_TEXT_FORMATTING)
    if isinstance(op, ast.Mult):
        for sequence, times in ((left, right), (right, left)):
            if isinstance(sequence, _SEQUENCES) and isinstance(times, int):
                if times > 0 and size_of(sequence) * times > MAX_SEQUENCE_LENGTH:
                    raise SandboxError("result too large")
        if _is_integer(left) and _is_integer(right) and left.bit_length() + right.bit_length() > _MAX_INT_BITS + 1:
            raise SandboxError("number too large")
    if isinstance(op, ast.Add) and isinstance(left, _SEQUENCES) and isinstance(right, _SEQUENCES):
        if size_of(left) + size_of(right) > MAX_SEQUENCE_LENGTH:
            raise SandboxError("result too large")


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def size_of(value: Any, limit: int = MAX_SEQUENCE_LENGTH) -> int:
    """The elements and characters of a value, nested ones counted (each time a value is
    referenced); counting stops past ``limit``, so it costs at most ``limit`` steps."""
    total, pending = 0, [value]
    while pending and total <= limit:
        item = pending.pop()
        if isinstance(item, str):
            total += len(item)
        elif isinstance(item, (list, tuple, set, frozenset, dict)):
            total += len(item)
            if total <= limit:
                pending.extend(item.values() if isinstance(item, dict) else item)
                if isinstance(item, dict):
                    pending.extend(item.keys())
    return total


def _bounded(value: Any) -> Any:
    if isinstance(value, (str, list, tuple, dict, set)) and len(value) > MAX_SEQUENCE_LENGTH:
        raise SandboxError("result too large")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**MAX_INT_DIGITS:
        raise SandboxError("number too large")
    return value


_TREE_CACHE: dict[str, ast.Expression] = {}


def evaluate(expression: str, data: Mapping[str, Any]) -> Any:
    """Evaluate a checked expression over ``data`` (task data)."""
    tree = _TREE_CACHE.get(expression)
    if tree is None:
        tree = check(expression)
        if len(_TREE_CACHE) < 10_000:
            _TREE_CACHE[expression] = tree
    try:
        return _Interpreter(data).run(tree)
    except SandboxError:
        raise
    except (TypeError, ValueError, ZeroDivisionError, OverflowError, RecursionError) as exc:
        raise SandboxError(f"evaluation failed: {type(exc).__name__}: {exc}") from None
