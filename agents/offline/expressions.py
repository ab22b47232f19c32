"""The small expression language of the catalogue's plans: `{…}` templates and `when` conditions.

An expression is a Python expression restricted to names, attribute and item access, literals,
comparisons, `and`/`or`/`not`, arithmetic, `x if c else y`, and calls of the functions
registered here (`FUNCTIONS`). Names are slots and earlier results; a missing name, attribute or
item is None, so a condition on a result that is not there yet is simply false. Nothing else of
Python is reachable: expressions are parsed, checked node by node, and interpreted.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

FUNCTIONS: dict[str, Callable[..., Any]] = {}

_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: b is not None and a in b,
    ast.NotIn: lambda a, b: b is None or a not in b,
}
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}
_ALLOWED = (
    ast.Expression,
    ast.Name,
    ast.Load,
    ast.Attribute,
    ast.Subscript,
    ast.Constant,
    ast.Compare,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.USub,
    ast.BinOp,
    ast.IfExp,
    ast.Call,
    ast.List,
    ast.Tuple,
    *_COMPARE,
    *_BINARY,
)
_TEMPLATE = re.compile(r"\{([^{}]+)\}")


class ExpressionError(ValueError):
    """An expression that is not in the language (the catalogue check reports it)."""


def function(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Make `fn` callable from expressions under its name."""
    FUNCTIONS[fn.__name__] = fn
    return fn


@cache
def parse(source: str) -> ast.Expression:
    """The checked syntax tree of `source`."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"{source!r} is not an expression: {exc.msg}") from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ExpressionError(f"{source!r} uses {type(node).__name__}, which plans may not")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(f"{source!r} calls an unknown function")
            if node.keywords:
                raise ExpressionError(f"{source!r} passes keyword arguments")
        if isinstance(node, ast.Attribute) and node.attr.startswith("_"):
            raise ExpressionError(f"{source!r} reads a private attribute")
    return tree


def names_in(source: str) -> set[str]:
    """The top-level names an expression reads (not the functions it calls)."""
    tree = parse(source)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}  # type: ignore[attr-defined]
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - called


def paths_in(source: str) -> list[list[str]]:
    """The dotted paths an expression reads, e.g. [["classify_fault", "fault_type"]]."""
    found: list[list[str]] = []

    def path(node: ast.AST) -> list[str] | None:
        if isinstance(node, ast.Name):
            return [node.id]
        if isinstance(node, ast.Attribute):
            base = path(node.value)
            return [*base, node.attr] if base else None
        return None

    tree = parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute | ast.Name):
            found_path = path(node)
            if found_path and not any(found_path == p[: len(found_path)] for p in found):
                found = [p for p in found if p != found_path[: len(p)]]
                found.append(found_path)
    called = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call)}  # type: ignore[attr-defined]
    return [p for p in found if p[0] not in called]


def _get(value: Any, key: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return value.get(key)
    if isinstance(value, list | tuple) and isinstance(key, int):
        return value[key] if -len(value) <= key < len(value) else None
    return getattr(value, key, None) if isinstance(key, str) and not key.startswith("_") else None


def _eval(node: ast.AST, names: Mapping[str, Any]) -> Any:  # noqa: C901 - one case per node type
    if isinstance(node, ast.Expression):
        return _eval(node.body, names)
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return names.get(node.id)
    if isinstance(node, ast.Attribute):
        return _get(_eval(node.value, names), node.attr)
    if isinstance(node, ast.Subscript):
        return _get(_eval(node.value, names), _eval(node.slice, names))
    if isinstance(node, ast.List | ast.Tuple):
        return [_eval(e, names) for e in node.elts]
    if isinstance(node, ast.BoolOp):
        if isinstance(node.op, ast.And):
            result: Any = True
            for value in node.values:
                result = _eval(value, names)
                if not result:
                    return result
            return result
        for value in node.values:
            result = _eval(value, names)
            if result:
                return result
        return result
    if isinstance(node, ast.UnaryOp):
        operand = _eval(node.operand, names)
        if isinstance(node.op, ast.Not):
            return not operand
        return None if operand is None else -operand
    if isinstance(node, ast.Compare):
        left = _eval(node.left, names)
        for op, comparator in zip(node.ops, node.comparators, strict=True):
            right = _eval(comparator, names)
            try:
                if not _COMPARE[type(op)](left, right):
                    return False
            except TypeError:  # None against a number: the condition does not hold
                return False
            left = right
        return True
    if isinstance(node, ast.BinOp):
        left, right = _eval(node.left, names), _eval(node.right, names)
        if left is None or right is None:
            return None
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.IfExp):
        return _eval(node.body if _eval(node.test, names) else node.orelse, names)
    if isinstance(node, ast.Call):
        assert isinstance(node.func, ast.Name)
        return FUNCTIONS[node.func.id](*(_eval(a, names) for a in node.args))
    raise ExpressionError(f"cannot evaluate {type(node).__name__}")


def evaluate(source: str, names: Mapping[str, Any]) -> Any:
    """The value of expression `source` over `names`; None where it reads something missing."""
    try:
        return _eval(parse(source), names)
    except (TypeError, ValueError, ArithmeticError, AttributeError, KeyError, IndexError):
        if isinstance(source, str):
            parse(source)  # a malformed expression is the catalogue's fault: let it show
        return None


def holds(source: str | None, names: Mapping[str, Any]) -> bool:
    """Whether condition `source` holds (no condition always does)."""
    return True if source is None else bool(evaluate(source, names))


def render(template: Any, names: Mapping[str, Any]) -> Any:
    """A plan argument with its templates filled in.

    A string that is one `{expression}` becomes that expression's value (a list, a number, or
    None); a string with text around templates becomes text; lists and dicts are rendered item
    by item, leaving out dict entries whose value is None.
    """
    if isinstance(template, str):
        whole = _TEMPLATE.fullmatch(template.strip())
        if whole:
            return evaluate(whole.group(1), names)
        if "{" not in template:
            return template

        def fill(match: re.Match[str]) -> str:
            value = evaluate(match.group(1), names)
            return "" if value is None else str(value)

        return _TEMPLATE.sub(fill, template).strip()
    if isinstance(template, list):
        rendered = [render(item, names) for item in template]
        return [item for item in rendered if item is not None]
    if isinstance(template, dict):
        out = {k: render(v, names) for k, v in template.items()}
        return {k: v for k, v in out.items() if v is not None}
    return template


def expressions_in(template: Any) -> list[str]:
    """Every `{expression}` in a template (for the catalogue check)."""
    if isinstance(template, str):
        return [m.group(1) for m in _TEMPLATE.finditer(template)]
    if isinstance(template, list):
        return [e for item in template for e in expressions_in(item)]
    if isinstance(template, dict):
        return [e for item in template.values() for e in expressions_in(item)]
    return []
