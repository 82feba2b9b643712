"""Scalar computation graph: values with data and grad; each operation's local derivative beside its rule.

Shaped like micrograd (every operation returns a new Value and records, right where it computes the
forward result, the local gradient ∂out/∂input for each input), but the local gradients are stored as
numbers at forward time so the backward pass can show "upstream × local = product" at every node.
Every number is checked to be finite: overflow, division by zero and log of a non-positive number raise
GraphError instead of producing inf or NaN.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from engine.errors import WordedError


class GraphError(WordedError):
    """A value or gradient that is not a finite real number (the message says which operation and why):
    `template` with `values` (engine/errors.py)."""

    def __init__(self, template: str, **values: object) -> None:
        self.message = self._word(template, values)
        super().__init__(self.message)


class Value:
    """One scalar node: `data` (forward), `grad` (∂output/∂self after backward), how it was made.

    `op` is "" for a leaf (a variable when `name` is set, else a constant); `inputs` and `local_grads`
    line up: local_grads[i] = ∂self/∂inputs[i] at the forward values. `column` (1-based) is where the
    node's text starts in the expression it came from, for error messages; None when built in code.
    """

    __slots__ = ("column", "data", "exponent", "grad", "inputs", "local_grads", "name", "op")

    def __init__(self, data: float, name: str = "", column: int | None = None) -> None:
        if not math.isfinite(data):
            raise GraphError("{value} is not a finite number", value=data)
        self.data = float(data)
        self.grad = 0.0
        self.op = ""
        self.inputs: tuple[Value, ...] = ()
        self.local_grads: tuple[float, ...] = ()
        self.name = name
        self.column = column
        self.exponent: float | None = None  # the constant p of a power node

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g}, op={self.op!r})"

    # Operator overloads, micrograd-style, so tests and the REPL can write (x + y) * z.
    def __add__(self, other: Value | float) -> Value:
        return add(self, _lift(other))

    def __radd__(self, other: float) -> Value:
        return add(_lift(other), self)

    def __sub__(self, other: Value | float) -> Value:
        return sub(self, _lift(other))

    def __rsub__(self, other: float) -> Value:
        return sub(_lift(other), self)

    def __mul__(self, other: Value | float) -> Value:
        return mul(self, _lift(other))

    def __rmul__(self, other: float) -> Value:
        return mul(_lift(other), self)

    def __truediv__(self, other: Value | float) -> Value:
        return div(self, _lift(other))

    def __rtruediv__(self, other: float) -> Value:
        return div(_lift(other), self)

    def __neg__(self) -> Value:
        return neg(self)

    def __pow__(self, exponent: float) -> Value:
        return power(self, exponent)


def _lift(x: Value | float) -> Value:
    return x if isinstance(x, Value) else Value(float(x))


Rule = Callable[[], tuple[float, tuple[float, ...]]]


def _result(op: str, compute: Rule, inputs: tuple[Value, ...]) -> Value:
    """Run one operation's forward rule and local derivatives; refuse anything non-finite."""
    try:
        data, local_grads = compute()
    except (OverflowError, ZeroDivisionError) as error:
        raise GraphError("{op}: the result is too large or undefined ({error})", op=op, error=error) from None
    if isinstance(data, complex) or not math.isfinite(data):
        raise GraphError("{op}: the result is not a finite real number", op=op)
    if not all(math.isfinite(g) for g in local_grads):
        raise GraphError("{op}: the local gradient is infinite at this point", op=op)
    out = Value(data)
    out.op, out.inputs, out.local_grads = op, inputs, local_grads
    return out


# Each operation: forward value, then the local gradient of the output with respect to each input.

def add(a: Value, b: Value) -> Value:
    return _result("+", lambda: (a.data + b.data, (1.0, 1.0)), (a, b))


def sub(a: Value, b: Value) -> Value:
    return _result("−", lambda: (a.data - b.data, (1.0, -1.0)), (a, b))


def mul(a: Value, b: Value) -> Value:
    return _result("×", lambda: (a.data * b.data, (b.data, a.data)), (a, b))


def div(a: Value, b: Value) -> Value:
    if b.data == 0.0:
        raise GraphError("÷: division by zero")
    return _result("÷", lambda: (a.data / b.data, (1.0 / b.data, -a.data / (b.data * b.data))), (a, b))


def neg(a: Value) -> Value:
    return _result("neg", lambda: (-a.data, (-1.0,)), (a,))


def power(a: Value, exponent: float) -> Value:
    """a**p for a constant p; a negative base needs an integer p (otherwise the result is complex)."""
    if a.data < 0 and not float(exponent).is_integer():
        raise GraphError("**: a negative number to the power {p} is not a real number",
                         p=format(exponent, "g"))
    if a.data == 0 and exponent < 0:
        raise GraphError("**: 0 to the power {p} is a division by zero", p=format(exponent, "g"))
    if a.data == 0 and 0 < exponent < 1:
        raise GraphError("**: the derivative of x**{p} is infinite at 0", p=format(exponent, "g"))
    out = _result("**", lambda: (a.data**exponent, (exponent * a.data ** (exponent - 1),)), (a,))
    out.exponent = float(exponent)
    return out


def exp(a: Value) -> Value:
    def rule() -> tuple[float, tuple[float, ...]]:
        e = math.exp(a.data)
        return e, (e,)  # d/dx e^x = e^x: the local gradient is the output itself
    return _result("exp", rule, (a,))


def log(a: Value) -> Value:
    if a.data <= 0:
        raise GraphError("log: log of {value} is undefined (needs a positive number)",
                         value=format(a.data, "g"))
    return _result("log", lambda: (math.log(a.data), (1.0 / a.data,)), (a,))


def tanh(a: Value) -> Value:
    def rule() -> tuple[float, tuple[float, ...]]:
        t = math.tanh(a.data)
        return t, (1.0 - t * t,)
    return _result("tanh", rule, (a,))


def sigmoid(a: Value) -> Value:
    def rule() -> tuple[float, tuple[float, ...]]:
        # Two branches so exp never overflows for large |x|.
        if a.data >= 0:
            s = 1.0 / (1.0 + math.exp(-a.data))
        else:
            e = math.exp(a.data)
            s = e / (1.0 + e)
        return s, (s * (1.0 - s),)
    return _result("σ", rule, (a,))


def relu(a: Value) -> Value:
    # At exactly 0 the gate counts as closed (local gradient 0), the usual convention.
    return _result("relu", lambda: (max(a.data, 0.0), (1.0 if a.data > 0 else 0.0,)), (a,))


def absolute(a: Value) -> Value:
    sign = 1.0 if a.data > 0 else -1.0 if a.data < 0 else 0.0
    return _result("abs", lambda: (abs(a.data), (sign,)), (a,))


def maximum(*args: Value) -> Value:
    """max routes: local gradient 1 for the largest input (the first one on ties), 0 for the others."""
    if len(args) < 2:
        raise GraphError("max needs at least two inputs")
    winner = max(range(len(args)), key=lambda i: (args[i].data, -i))
    locals_ = tuple(1.0 if i == winner else 0.0 for i in range(len(args)))
    return _result("max", lambda: (args[winner].data, locals_), tuple(args))


@dataclass(frozen=True)
class Step:
    """One teaching step. Forward: `node` computed its data. Backward: `node` sent its gradient back.

    Backward steps carry `upstream` = ∂f/∂node, and per input i: local_grads[i] = ∂node/∂input_i and
    products[i] = upstream × local_grads[i], the amount added to that input's grad. The first backward
    step is the seed ∂f/∂f = 1 on the output (no inputs).
    """

    phase: Literal["forward", "backward"]
    node: int
    upstream: float | None = None
    local_grads: tuple[float, ...] = ()
    products: tuple[float, ...] = ()


def topological_order(output: Value) -> list[Value]:
    """Every node reachable from `output`, each after all its inputs (iterative: no recursion limit)."""
    order: list[Value] = []
    seen: set[int] = set()
    stack: list[tuple[Value, bool]] = [(output, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        # Reversed so the first input is visited (and numbered) first.
        stack.extend((child, False) for child in reversed(node.inputs) if id(child) not in seen)
    return order


class Graph:
    """The graph below one output: nodes in topological order, edges, and the forward/backward steps.

    `nodes[i]` is a Value; `edges` are (input index, node index, slot) with slot = position among the
    node's inputs. backward() fills every node's grad and returns the teaching steps.
    """

    def __init__(self, output: Value) -> None:
        self.output = output
        self.nodes = topological_order(output)
        self.index = {id(node): i for i, node in enumerate(self.nodes)}
        self.edges = [
            (self.index[id(child)], i, slot)
            for i, node in enumerate(self.nodes)
            for slot, child in enumerate(node.inputs)
        ]
        self.steps = [Step("forward", i) for i, node in enumerate(self.nodes) if node.op]
        self.steps += self.backward()

    def backward(self) -> list[Step]:
        for node in self.nodes:
            node.grad = 0.0
        self.output.grad = 1.0
        steps = [Step("backward", len(self.nodes) - 1, upstream=None)]
        for i in reversed(range(len(self.nodes))):
            node = self.nodes[i]
            if not node.op:
                continue
            products = tuple(node.grad * local for local in node.local_grads)
            if not all(math.isfinite(p) for p in products):
                raise GraphError("{op}: the gradient overflows", op=node.op)
            for child, product in zip(node.inputs, products, strict=True):
                child.grad += product  # += because a value used twice collects from both uses
            steps.append(Step("backward", i, node.grad, node.local_grads, products))
        return steps

    def variables(self) -> dict[str, Value]:
        return {node.name: node for node in self.nodes if not node.op and node.name}

    def state_after(self, count: int) -> tuple[list[bool], list[float | None]]:
        """After the first `count` steps: which nodes show their data, and each node's grad so far.

        Leaves are known from the start. A grad is None until some backward step has reached the node;
        a variable used twice shows its partial sum between the two contributions.
        """
        known = [not node.op for node in self.nodes]
        grads: list[float | None] = [None] * len(self.nodes)
        for step in self.steps[: max(0, count)]:
            node = self.nodes[step.node]
            if step.phase == "forward":
                known[step.node] = True
            elif step.upstream is None:
                grads[step.node] = 1.0
            else:
                for child, product in zip(node.inputs, step.products, strict=True):
                    j = self.index[id(child)]
                    grads[j] = (grads[j] or 0.0) + product
        return known, grads
