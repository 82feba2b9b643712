"""Safe expression parser: a strict whitelist over Python's `ast`, building an autodiff Graph.

Nothing from the text is ever evaluated by Python: the text is checked character by character and for
bracket depth, parsed by `ast.parse` (syntax only), every node is checked against the whitelist, and the
arithmetic is done by engine.autodiff on floats. Allowed: numbers, variable names, + - * /, unary - and
+, ** with a constant exponent (|p| <= 10), and calls exp log tanh sigmoid relu abs (one argument) and
max (two or more). Every error names the 1-based column of the problem: the refused operator, comparison,
and/or or dot itself, else the start of the refused piece.
"""

from __future__ import annotations

import ast
import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine import autodiff
from engine.autodiff import Graph, GraphError, Value
from engine.errors import N_, WordedError

MAX_LENGTH = 500
MAX_NODES = 200
MAX_DEPTH = 30  # bracket nesting, checked on the text before ast.parse sees it
MAX_EXPONENT = 10.0
MAX_NAME_LENGTH = 32
MAX_ARGUMENTS = 16
NAME_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

UNARY_FUNCTIONS: dict[str, Callable[[Value], Value]] = {
    "exp": autodiff.exp, "log": autodiff.log, "tanh": autodiff.tanh,
    "sigmoid": autodiff.sigmoid, "relu": autodiff.relu, "abs": autodiff.absolute,
}
FUNCTIONS = (*UNARY_FUNCTIONS, "max")
BINARY_NAMES: dict[type[ast.operator], str] = {
    ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div",
}
BINARY: dict[str, Callable[[Value, Value], Value]] = {
    "add": autodiff.add, "sub": autodiff.sub, "mul": autodiff.mul, "div": autodiff.div,
}
# Typographic operators a student may paste from the page; each is one character, so columns stay put.
TYPOGRAPHIC = str.maketrans({"−": "-", "×": "*", "·": "*", "÷": "/", "\t": " ", "\n": " ", "\r": " "})
# Messages for the node types people most often try, so the error says what was found.
COMPREHENSIONS = N_("comprehensions are not allowed")
REFUSED = {
    ast.Attribute: N_("attribute access (.) is not allowed"),
    ast.Subscript: N_("indexing with [ ] is not allowed"),
    ast.Lambda: N_("lambda is not allowed"),
    ast.ListComp: COMPREHENSIONS, ast.SetComp: COMPREHENSIONS,
    ast.DictComp: COMPREHENSIONS, ast.GeneratorExp: COMPREHENSIONS,
    ast.Compare: N_("comparisons are not allowed"), ast.BoolOp: N_("and/or are not allowed"),
    ast.IfExp: N_("if/else is not allowed"), ast.JoinedStr: N_("strings are not allowed"),
    ast.NamedExpr: N_("assignment (:=) is not allowed"), ast.Starred: N_("* unpacking is not allowed"),
    ast.Tuple: N_("tuples (a, b) are not allowed"), ast.List: N_("lists are not allowed"),
    ast.Dict: N_("dicts are not allowed"), ast.Set: N_("sets are not allowed"),
    ast.Await: N_("await is not allowed"),
}


class ExpressionError(WordedError):
    """A refused or failing expression: `message` (made of `template` and `values`, engine/errors.py),
    and the 1-based `column` it points at (or None)."""

    def __init__(self, message: str, column: int | None = None, variable: str | None = None,
                 **values: object) -> None:
        self.message = self._word(message, values)
        super().__init__(self.message)
        self.column = column
        self.variable = variable  # set when a variable has no (valid) value

    def __str__(self) -> str:
        return f"column {self.column}: {self.message}" if self.column else self.message


@dataclass(frozen=True)
class Expr:
    """One checked node. kind: "number" (value), "variable" (name), "op" (op name, args, exponent)."""

    kind: str
    column: int
    text: str  # the source text of this node, for labels and messages
    value: float = 0.0
    name: str = ""
    args: tuple[Expr, ...] = ()
    exponent: float = 0.0


def _check_text(text: str) -> str:
    if len(text) > MAX_LENGTH:
        raise ExpressionError("the expression is {n} characters long; at most {high}", MAX_LENGTH + 1,
                              n=len(text), high=MAX_LENGTH)
    text = text.translate(TYPOGRAPHIC)
    depth = 0
    for i, char in enumerate(text):
        if not " " <= char <= "~":
            # Rejects fullwidth digits, lookalike letters that NFKC would fold into other names, and
            # zero-width characters alike: only printable ASCII reaches the parser.
            raise ExpressionError("character {code} ({name}) is not allowed; use plain ASCII", i + 1,
                                  code="U+" + format(ord(char), "04X"),
                                  name=unicodedata.name(char, "control character"))
        if char in "([{":
            depth += 1
            if depth > MAX_DEPTH:
                raise ExpressionError("brackets nested deeper than {high} levels", i + 1, high=MAX_DEPTH)
        elif char in ")]}":
            depth -= 1
    if not text.strip():
        raise ExpressionError("the expression is empty", 1)
    return text


def parse(text: str) -> Expr:
    """Check `text` and return its tree of whitelisted nodes; ExpressionError (with column) otherwise."""
    text = _check_text(text)
    body = text.lstrip()
    indent = len(text) - len(body)
    try:
        tree = ast.parse(body, mode="eval")
    except SyntaxError as error:
        column = (error.offset or 1) + indent if error.lineno in (None, 1) else None
        if body.rstrip()[-1] in "+-*/(,":  # CPython points at the start here; the end is more useful
            raise ExpressionError("the expression ends too early", len(text.rstrip())) from None
        raise ExpressionError("syntax error: {reason}", column, reason=error.msg) from None
    except (RecursionError, MemoryError, ValueError, OverflowError):
        raise ExpressionError("the expression is too deeply nested or too large to read", 1) from None
    count = 0
    for node in ast.walk(tree.body):
        if isinstance(node, ast.expr):
            count += 1
            if count > MAX_NODES:
                raise ExpressionError("more than {high} nodes; make the expression smaller",
                                      node.col_offset + 1 + indent, high=MAX_NODES)
    return _Converter(body, indent).convert(tree.body)


class _Converter:
    """Walks the ast, allowing only whitelisted nodes (depth is bounded by MAX_NODES)."""

    def __init__(self, source: str, indent: int) -> None:
        self.source = source
        self.indent = indent

    def column(self, node: ast.AST) -> int:
        return int(getattr(node, "col_offset", 0)) + 1 + self.indent

    def after(self, node: ast.expr) -> int:
        """Column of the first character after `node` that is not a space or a closing bracket: the
        operator (or the dot) that follows an operand, even when the operand is in parentheses."""
        position = int(node.end_col_offset or node.col_offset)
        while position < len(self.source) and self.source[position] in " )":
            position += 1
        return position + 1 + self.indent

    def culprit(self, node: ast.AST) -> int:
        """Where a refused node's problem is: the operator of a binary operation, comparison or and/or,
        the dot of an attribute access; the node's start otherwise."""
        if isinstance(node, ast.BinOp):
            return self.after(node.left)
        if isinstance(node, ast.Compare):
            return self.after(node.left)
        if isinstance(node, ast.BoolOp):
            return self.after(node.values[0])
        if isinstance(node, ast.Attribute):
            while isinstance(node.value, ast.Attribute):  # a.b.c: the first dot
                node = node.value
            return self.after(node.value)
        return self.column(node)

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def fail(self, node: ast.AST, message: str, **values: Any) -> ExpressionError:
        return ExpressionError(message, self.culprit(node), **values)

    def convert(self, node: ast.expr) -> Expr:
        column, text = self.column(node), self.text(node)
        if isinstance(node, ast.Constant):
            return Expr("number", column, text, value=self.number(node))
        if isinstance(node, ast.Name):
            return Expr("variable", column, text, name=self.name(node))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.convert(node.operand)
            if isinstance(node.op, ast.UAdd):
                return operand
            if operand.kind == "number":  # -2 is a constant, not a negation node
                return Expr("number", column, text, value=-operand.value)
            return Expr("op", column, text, name="neg", args=(operand,))
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return Expr("op", column, text, name="pow", args=(self.convert(node.left),),
                        exponent=self.exponent(node.right))
        if isinstance(node, ast.BinOp) and type(node.op) in BINARY_NAMES:
            return Expr("op", column, text, name=BINARY_NAMES[type(node.op)],
                        args=(self.convert(node.left), self.convert(node.right)))
        if isinstance(node, ast.BinOp):
            raise self.fail(node, "only + - * / and ** are allowed as operators")
        if isinstance(node, ast.UnaryOp):
            raise self.fail(node, "only unary - and + are allowed")
        if isinstance(node, ast.Call):
            return self.call(node)
        if type(node) in REFUSED:
            raise self.fail(node, REFUSED[type(node)])
        raise self.fail(node, "{kind} is not allowed", kind=type(node).__name__)

    def number(self, node: ast.Constant) -> float:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            if isinstance(value, (str, bytes)):
                raise self.fail(node, "a string is not a number; only numbers and variables are allowed")
            raise self.fail(node, "{value} is not a number; only numbers and variables are allowed",
                            value=repr(value))
        try:
            number = float(value)
        except OverflowError:
            number = math.inf
        if not math.isfinite(number):
            raise self.fail(node, "the number is too large")
        return number

    def name(self, node: ast.Name) -> str:
        name = node.id
        if not NAME_PATTERN.match(name) or len(name) > MAX_NAME_LENGTH or name.startswith("__"):
            raise self.fail(node, "{name} is not allowed as a variable name "
                                  "(letters, digits and _, at most {high}, no leading __)",
                            name=repr(name), high=MAX_NAME_LENGTH)
        if name in FUNCTIONS:
            raise self.fail(node, "{name} is a function; call it like {name}(x)", name=name)
        return name

    def exponent(self, node: ast.expr) -> float:
        inner, sign = node, 1.0
        while isinstance(inner, ast.UnaryOp) and isinstance(inner.op, (ast.USub, ast.UAdd)):
            sign = -sign if isinstance(inner.op, ast.USub) else sign
            inner = inner.operand
        if not isinstance(inner, ast.Constant):
            # the whole exponent is what is wrong, so point at its start, not at an operator inside it
            raise ExpressionError("the exponent must be a plain number with |p| <= {high}", self.column(node),
                                  high=format(MAX_EXPONENT, "g"))
        value = sign * self.number(inner)
        if abs(value) > MAX_EXPONENT:
            raise self.fail(node, "the exponent {p} is too large; |p| <= {high}", p=format(value, "g"),
                            high=format(MAX_EXPONENT, "g"))
        return value

    def call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
            allowed = ", ".join(FUNCTIONS)
            if isinstance(node.func, ast.Name):
                raise self.fail(node, "{name} cannot be called; the functions are {allowed}",
                                name=node.func.id, allowed=allowed)
            if isinstance(node.func, ast.Attribute):  # x.f(): the dot is what is refused
                raise self.fail(node.func, "attribute access (.) is not allowed; the functions are {allowed}",
                                allowed=allowed)
            raise self.fail(node, "this call is not allowed; the functions are {allowed}", allowed=allowed)
        name = node.func.id
        if node.keywords:
            raise self.fail(node.keywords[0], "keyword arguments are not allowed")
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                raise self.fail(argument, "* unpacking is not allowed")
        if name == "max" and not 2 <= len(node.args) <= MAX_ARGUMENTS:
            raise self.fail(node, "max needs 2 to {high} arguments", high=MAX_ARGUMENTS)
        if name != "max" and len(node.args) != 1:
            raise self.fail(node, "{name} takes exactly one argument", name=name)
        args = tuple(self.convert(argument) for argument in node.args)
        return Expr("op", self.column(node), self.text(node), name=name, args=args)


def variables(expr: Expr) -> list[str]:
    """Variable names in order of first appearance."""
    names: list[str] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if node.kind == "variable" and node.name not in names:
            names.append(node.name)
        stack.extend(reversed(node.args))
    return names


def evaluate(expr: Expr, values: Mapping[str, float]) -> Value:
    """Build the autodiff nodes for `expr`; one shared leaf per variable so its grad accumulates."""
    leaves: dict[str, Value] = {}
    for name in variables(expr):
        if name not in values:
            raise ExpressionError("no value given for variable {name}", None, variable=name, name=repr(name))
        value = float(values[name])
        if not math.isfinite(value):
            raise ExpressionError("the value of {name} must be a finite number", None, variable=name,
                                  name=repr(name))
        leaves[name] = Value(value, name=name)

    def build(node: Expr) -> Value:
        if node.kind == "number":
            return Value(node.value, column=node.column)
        if node.kind == "variable":
            return leaves[node.name]
        args = [build(arg) for arg in node.args]
        try:
            if node.name == "pow":
                out = autodiff.power(args[0], node.exponent)
            elif node.name == "neg":
                out = autodiff.neg(args[0])
            elif node.name == "max":
                out = autodiff.maximum(*args)
            elif node.name in UNARY_FUNCTIONS:
                out = UNARY_FUNCTIONS[node.name](args[0])
            else:
                out = BINARY[node.name](args[0], args[1])
        except GraphError as error:
            raise ExpressionError("in {text}: {reason}", node.column, text=node.text, reason=error) from None
        out.column = node.column
        out.name = node.text  # the op node's label: its own piece of the expression
        return out

    return build(expr)


def build_graph(text: str, values: Mapping[str, float]) -> Graph:
    """Parse, evaluate and run backward; every failure is an ExpressionError."""
    output = evaluate(parse(text), values)
    try:
        return Graph(output)
    except GraphError as error:
        words: dict[str, Any] = dict(error.values)
        raise ExpressionError(error.template, **words) from None


NEURON_ACTIVATIONS = {
    "linear": "{e}", "tanh": "tanh({e})", "sigmoid": "sigmoid({e})", "relu": "relu({e})",
    "abs": "abs({e})", "leaky_relu": "max({e}, 0.01*({e}))", "softplus": "log(1 + exp({e}))",
    "swish": "({e})*sigmoid({e})",
    # elu with alpha 1: relu(e) + exp(-relu(-e)) - 1 is e for e > 0 and exp(e) - 1 otherwise.
    "elu": "relu({e}) + exp(-relu(-({e}))) - 1",
    "exp": "exp({e})",  # a Gaussian output's variance σ² = eˢ
}
# The loss of one output for target t, written over the output's value {y}.
NEURON_LOSSES = {
    "squared": "0.5*({y} - t)**2",
    "absolute": "abs({y} - t)",
    "cross_entropy": "-(t*log({y}) + (1 - t)*log(1 - {y}))",
}


def neuron_expression(weights: list[float], inputs: list[float], bias: float, activation: str,
                      target: float | None = None, loss: str = "squared") -> tuple[str, dict[str, float]]:
    """One neuron as a computation graph: e = Σ w_i·x_i + b, y = f(e), and when a target t is given the
    loss of y: "squared" ½(y − t)², "absolute" |y − t| or "cross_entropy" −[t·log y + (1 − t)·log(1 − y)].

    Returns (expression, values) with variables w1.., x1.., b and t. ValueError for an activation the
    expression language cannot write (maxout), an unknown loss or mismatched lengths.
    """
    if loss not in NEURON_LOSSES:
        raise ValueError(f"loss {loss!r} must be one of {', '.join(NEURON_LOSSES)}")
    if len(weights) != len(inputs) or not weights:
        raise ValueError("weights and inputs must be non-empty and of the same length")
    if activation not in NEURON_ACTIVATIONS:
        raise ValueError(f"activation {activation!r} cannot be shown as a single-neuron graph")
    terms = " + ".join(f"w{i}*x{i}" for i in range(1, len(weights) + 1))
    pre_activation = f"{terms} + b"
    expression = NEURON_ACTIVATIONS[activation].format(e=pre_activation)
    values = {f"w{i}": float(w) for i, w in enumerate(weights, 1)}
    values |= {f"x{i}": float(x) for i, x in enumerate(inputs, 1)}
    values["b"] = float(bias)
    if target is not None:
        expression = NEURON_LOSSES[loss].format(y=expression)
        values["t"] = float(target)
    return expression, values
