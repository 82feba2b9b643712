"""Pydantic models for every JSON request and response body of the API, each field bounded."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.vocabulary import ALPHA_ELU, ALPHA_LEAKY, PIECES

# The API's own ceiling; Settings may lower it (max_hidden_layers, max_units) but never raise it.
API_MAX_LAYERS = 8
API_MAX_UNITS = 64
API_MAX_SAMPLES = 5000
API_MAX_STEP_COUNT = 1000
SEED_MAX = 2**32 - 1
# The bounds pydantic checks for the one `alpha` field; the engine then checks each activation's own range.
ALPHA_LOW = min(ALPHA_LEAKY.low, ALPHA_ELU.low)
ALPHA_HIGH = max(ALPHA_LEAKY.high, ALPHA_ELU.high)

# The OpenAPI's enums; tests/test_vocabulary.py checks that each equals engine/vocabulary.py's names.
Activation = Literal[
    "tanh", "relu", "sigmoid", "linear", "leaky_relu", "elu", "abs", "softplus", "swish", "maxout"
]
OutputUnit = Literal["tanh_mse", "sigmoid_bce", "softmax_ce", "linear_mse", "linear_l1", "gaussian_nll"]
Feature = Literal["x1", "x2", "x1_sq", "x2_sq", "x1_x2", "sin_x1", "sin_x2"]
DatasetName = Literal[
    "circle", "xor", "gauss", "spiral", "blobs", "spiral_k", "plane", "multi_gauss", "curve",
    "curve_outliers", "custom"
]
Init = Literal["uniform", "xavier", "he"]
StepUnit = Literal["micro", "sample", "batch", "epoch"]
ScheduleKind = Literal["constant", "step", "exponential", "warmup_decay"]
OptimizerKind = Literal["sgd", "momentum", "adam"]
RegularizationKind = Literal["none", "l1", "l2"]


class Strict(BaseModel):
    """Unknown fields are an error (a typo must not be silently ignored); NaN/inf are never accepted."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class LayerSpec(Strict):
    units: int = Field(default=4, ge=1, le=API_MAX_UNITS)
    activation: Activation = "tanh"
    alpha: float | None = Field(default=None, ge=ALPHA_LOW, le=ALPHA_HIGH,
                                description=f"leaky_relu: {ALPHA_LEAKY.meaning}, {ALPHA_LEAKY.allowed} "
                                f"(default {ALPHA_LEAKY.default:g}); elu: {ALPHA_ELU.meaning}, "
                                f"{ALPHA_ELU.allowed} (default {ALPHA_ELU.default:g})")
    pieces: int = Field(default=int(PIECES.default), ge=int(PIECES.low), le=int(PIECES.high),
                        description=f"maxout: {PIECES.meaning}")


class DatasetSpec(Strict):
    name: DatasetName = "circle"
    noise: float = Field(default=0.0, ge=0.0, le=0.5)
    n_samples: int | None = Field(
        default=None, ge=4, le=API_MAX_SAMPLES, description="None: 500 (classification) or 1200 (regression)"
    )
    train_fraction: float = Field(default=0.5, ge=0.1, le=0.9)
    seed: int = Field(default=0, ge=0, le=SEED_MAX)
    classes: int = Field(default=3, ge=3, le=6, description="multi-class datasets only")


class ScheduleSpec(Strict):
    kind: ScheduleKind = "constant"
    step_size: int = Field(default=100, ge=1, le=1_000_000, description="steps between decays (step)")
    gamma: float = Field(default=0.5, gt=0.0, le=1.0, description="decay factor (step, exponential)")
    warmup: int = Field(default=0, ge=0, le=1_000_000, description="warm-up steps (warmup_decay)")
    total: int = Field(default=10_000, ge=1, le=10_000_000, description="steps to decay over (warmup_decay)")


class OptimizerSpec(Strict):
    kind: OptimizerKind = "sgd"
    learning_rate: float = Field(default=0.03, gt=0.0, le=10.0)
    momentum: float = Field(default=0.9, ge=0.0, lt=1.0)
    beta1: float = Field(default=0.9, ge=0.0, lt=1.0)
    beta2: float = Field(default=0.999, ge=0.0, lt=1.0)
    eps: float = Field(default=1e-8, gt=0.0, le=1.0)
    schedule: ScheduleSpec = Field(default_factory=ScheduleSpec)


class RegularizationSpec(Strict):
    kind: RegularizationKind = "none"
    rate: float = Field(default=0.0, ge=0.0, le=1.0)


def _default_features() -> list[Feature]:
    return ["x1", "x2"]


def _default_hidden() -> list[LayerSpec]:
    return [LayerSpec(units=4), LayerSpec(units=2)]


class SessionCreate(Strict):
    """The whole configuration of a run; the defaults are the page's first network [2, 4, 2, 1]."""

    hidden: list[LayerSpec] = Field(default_factory=_default_hidden, max_length=API_MAX_LAYERS)
    dataset: DatasetSpec = Field(default_factory=DatasetSpec)
    features: list[Feature] = Field(default_factory=_default_features, min_length=1, max_length=7)
    output_unit: OutputUnit = "tanh_mse"
    init: Init | None = None
    optimizer: OptimizerSpec = Field(default_factory=OptimizerSpec)
    regularization: RegularizationSpec = Field(default_factory=RegularizationSpec)
    batch_size: int = Field(default=10, ge=1, le=API_MAX_SAMPLES)
    seed: int = Field(default=0, ge=0, le=SEED_MAX)

    @field_validator("features")
    @classmethod
    def _features_unique(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("each feature may appear once")
        return value


class ConfigPatch(Strict):
    """Any subset of SessionCreate; optimizer/regularization changes keep the weights, the rest reset."""

    hidden: list[LayerSpec] | None = Field(default=None, max_length=API_MAX_LAYERS)
    dataset: DatasetSpec | None = None
    features: list[Feature] | None = Field(default=None, min_length=1, max_length=7)
    output_unit: OutputUnit | None = None
    init: Init | None = None
    optimizer: OptimizerSpec | None = None
    regularization: RegularizationSpec | None = None
    batch_size: int | None = Field(default=None, ge=1, le=API_MAX_SAMPLES)
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)


class StepRequest(Strict):
    unit: StepUnit = "micro"
    count: int = Field(default=1, ge=1, le=API_MAX_STEP_COUNT)


class PlayRequest(Strict):
    """Play advances `speed` steps of `unit` per second (fractions accumulate between ticks)."""

    unit: StepUnit = "batch"
    speed: float = Field(default=10.0, gt=0.0, le=1000.0)


class ResetRequest(Strict):
    """Omit the seed to keep it: the same seed gives the same initial weights."""

    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)


class WeightEdit(Strict):
    """input = None edits the bias; maxout layers pick the piece."""

    layer: int = Field(ge=1, le=API_MAX_LAYERS + 1)
    unit: int = Field(ge=0, le=API_MAX_UNITS * 2)
    input: int | None = Field(default=None, ge=0, le=API_MAX_UNITS * 2)
    piece: int = Field(default=0, ge=0, le=3)
    value: float = Field(ge=-1e3, le=1e3)


class PointAdd(Strict):
    x1: float = Field(ge=-10.0, le=10.0)
    x2: float = Field(ge=-10.0, le=10.0)
    label: float = Field(ge=-1e6, le=1e6, description="class index or regression target")
    split: Literal["train", "test"] = "train"


class RegenerateRequest(Strict):
    seed: int | None = Field(default=None, ge=0, le=SEED_MAX)


class SessionState(BaseModel):
    """What the API answers after every change: counters and where the teaching sequence is."""

    id: str
    step_id: int
    epoch: int
    batch: int
    sample: int
    phase: str | None
    playing: bool
    diverged: str | None
    loss: dict[str, float | None]
    config: dict[str, Any]
    reset: bool = Field(default=False, description="true when the change rebuilt the network (PATCH config)")
    can_back: bool = Field(default=True, description="false at the oldest point the rewind history keeps "
                           "(it holds a bounded number of bytes): back then does nothing")
    saved: bool = Field(default=True, description="false when the server could not write the session to its "
                        "disk (full or read-only): the change is kept in memory and saving is retried")


class CreatedSession(SessionState):
    """A new session: its state and the owner token that every change to it needs (app/ownership.py)."""

    token: str = Field(description="send as 'Authorization: Bearer <token>' or 'X-Stepwise-Token' to change "
                                   "this run; anyone may read it")


class Detail(BaseModel):
    """Every refusal: pydantic's list of {loc, msg, type}, a {field, message, ...} object, or a string."""

    detail: Any


# Documented on the JSON routes so the OpenAPI matches what they answer (FastAPI's default 422 schema
# allows only pydantic's list, but the engine's refusals name one field in an object).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"model": Detail, "description": "a change to a run without its owner's token (app/ownership.py)"},
    404: {"model": Detail, "description": "unknown or malformed session id"},
    413: {"model": Detail, "description": "the request body or upload is too large"},
    422: {"model": Detail, "description": "invalid input; the detail names the field"},
    429: {"model": Detail, "description": "a cap on sessions or request rate was reached; retry later"},
    503: {"model": Detail, "description": "the server cannot write to its disk now; nothing was changed"},
}
