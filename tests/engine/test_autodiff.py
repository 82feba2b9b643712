"""The scalar autodiff engine: published examples, how each gate treats the gradient, the step replay."""

from __future__ import annotations

import math

import pytest

from engine import autodiff
from engine.autodiff import Graph, GraphError, Value


def lecture_graph() -> tuple[Graph, dict[str, Value]]:
    x, y, z = Value(-2.0, "x"), Value(5.0, "y"), Value(-4.0, "z")
    q = x + y
    return Graph(q * z), {"x": x, "y": y, "z": z, "q": q}


def test_lecture_example_gives_the_slide_numbers() -> None:
    graph, v = lecture_graph()
    assert v["q"].data == 3.0 and graph.output.data == -12.0
    assert (v["x"].grad, v["y"].grad, v["z"].grad, v["q"].grad) == (-4.0, -4.0, 3.0, -4.0)


def test_cs231n_sigmoid_neuron_input_gradients() -> None:
    w0, x0, w1, x1, w2 = (Value(d, n) for d, n in [(2, "w0"), (-1, "x0"), (-3, "w1"), (-2, "x1"), (-3, "w2")])
    out = 1.0 / (1.0 + autodiff.exp(-(w0 * x0 + w1 * x1 + w2)))
    Graph(out)
    assert out.data == pytest.approx(0.7311, abs=1e-4)
    grads = [round(v.grad, 2) for v in (w0, x0, w1, x1, w2)]
    assert grads == [-0.20, 0.39, -0.39, -0.59, 0.20]


def test_add_distributes_the_upstream_gradient_unchanged() -> None:
    a, b = Value(1.5), Value(-7.0)
    out = (a + b) * 3.0
    graph = Graph(out)
    add_step = next(s for s in graph.steps if s.phase == "backward" and graph.nodes[s.node].op == "+")
    assert add_step.local_grads == (1.0, 1.0)
    assert add_step.products == (3.0, 3.0) and a.grad == b.grad == 3.0


def test_multiply_swaps_the_input_values_as_local_gradients() -> None:
    a, b = Value(2.0), Value(-5.0)
    graph = Graph(a * b)
    step = graph.steps[-1]
    assert step.local_grads == (-5.0, 2.0)
    assert (a.grad, b.grad) == (-5.0, 2.0)


def test_max_routes_the_whole_gradient_to_the_largest_input() -> None:
    a, b, c = Value(1.0), Value(4.0), Value(2.0)
    Graph(autodiff.maximum(a, b, c) * 2.0)
    assert (a.grad, b.grad, c.grad) == (0.0, 2.0, 0.0)


def test_max_tie_routes_to_the_first_input() -> None:
    a, b = Value(3.0), Value(3.0)
    Graph(autodiff.maximum(a, b))
    assert (a.grad, b.grad) == (1.0, 0.0)


def test_relu_blocks_the_gradient_for_negative_and_zero_inputs() -> None:
    for data, expected in [(-1.0, 0.0), (0.0, 0.0), (2.0, 1.0)]:
        a = Value(data)
        Graph(autodiff.relu(a))
        assert a.grad == expected


def test_a_value_used_twice_accumulates_both_contributions() -> None:
    x = Value(3.0, "x")
    graph = Graph(x * x + x)
    assert x.grad == 2 * 3.0 + 1.0
    assert graph.variables() == {"x": x}


def test_state_after_replays_partial_sums_step_by_step() -> None:
    x = Value(3.0, "x")
    graph = Graph(x * x + x)
    ix = graph.index[id(x)]
    seen = []
    for count in range(len(graph.steps) + 1):
        known, grads = graph.state_after(count)
        seen.append(grads[ix])
        if count == 0:
            assert known == [node.op == "" for node in graph.nodes]
    # None before any backward step reaches x, then 1 (from +), then 1 + 6 (from ×), the final grad.
    assert seen[0] is None and 1.0 in seen and seen[-1] == x.grad == 7.0


def test_steps_are_forward_in_topological_order_then_backward_in_reverse() -> None:
    graph, _ = lecture_graph()
    phases = [(s.phase, graph.nodes[s.node].op) for s in graph.steps]
    expected = [("forward", "+"), ("forward", "×"), ("backward", "×"), ("backward", "×"), ("backward", "+")]
    assert phases == expected
    seed = graph.steps[2]
    assert seed.upstream is None and graph.state_after(3)[1][-1] == 1.0
    for step in graph.steps[3:]:
        assert step.products == tuple(step.upstream * g for g in step.local_grads)  # type: ignore[operator]


@pytest.mark.parametrize(
    "build",
    [
        lambda: autodiff.exp(Value(1000.0)),
        lambda: Value(1.0) / Value(0.0),
        lambda: autodiff.log(Value(0.0)),
        lambda: autodiff.log(Value(-2.0)),
        lambda: Value(-8.0) ** 0.5,
        lambda: Value(0.0) ** -1,
        lambda: Value(1e200) * Value(1e200),
    ],
)
def test_non_finite_results_raise_instead_of_producing_inf_or_nan(build: object) -> None:
    with pytest.raises(GraphError):
        build()  # type: ignore[operator]


def test_sigmoid_is_stable_for_large_negative_inputs() -> None:
    a = Value(-800.0)
    out = autodiff.sigmoid(a)
    Graph(out)
    assert out.data == 0.0 and math.isfinite(a.grad)


def test_gradient_overflow_in_backward_is_an_error() -> None:
    a = Value(1e-200)
    out = autodiff.log(a) * 1e200  # finite forward; backward multiplies 1e200 by the local 1/a = 1e200
    assert math.isfinite(out.data)
    with pytest.raises(GraphError, match="overflows"):
        Graph(out)
