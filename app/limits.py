"""Work caps: request bodies, training time per call, open streams, and the adaptive frame rate."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.i18n import N_, gettext
from engine.stepper import Run


class BodyTooLarge(HTTPException):
    """Raised from `receive` once the streamed body passes the cap; FastAPI re-raises HTTPExceptions from
    body parsing, so the route never sees a truncated body."""

    def __init__(self, cap: int) -> None:
        # starlette types detail as str, but its handler sends any JSON-able value: keep the field shape
        super().__init__(413)
        # raised and answered inside the request (app/i18n.py Language is outside): its language is known
        words = gettext("the request body is larger than {cap} bytes").format(cap=cap)
        self.detail = {"field": "body", "message": words}  # type: ignore[assignment]


class BodySizeLimit:
    """Every HTTP request body is at most `cap` bytes (`larger[path]` for the paths listed there: the
    imports), whether or not the client sends Content-Length (chunked uploads are counted as they
    arrive, so nothing unbounded is ever buffered)."""

    def __init__(self, app: ASGIApp, cap: int, larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default_cap = cap
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.larger.get(str(scope.get("path", "")), self.default_cap)
        declared = _content_length(scope)
        if declared is not None and declared > cap:
            await _refuse(send, cap)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise BodyTooLarge(cap)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if started:
                raise
            await _refuse(send, cap)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"detail": BodyTooLarge(cap).detail}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def advance_within(run: Run, unit: str, count: int, seconds: float) -> int:
    """`run.step(unit, count)`, cut short at the first stop after about `seconds` of work.

    Without it, 1000 epochs of the biggest network the API allows (8 × 64, 2000 points, batch 1) is
    about an hour of CPU in one request, holding the session's lock (pause waits for it). Epochs go as
    batches, so even one epoch that alone outlasts the budget stops at a batch boundary; the same batches
    run either way, so the result is bit for bit the uncut call's when the budget is not reached. Work
    goes in chunks sized from the previous chunk's time, so a cheap run is still one or two engine calls.
    Returns the stops of `unit` done (epochs completed for "epoch").
    """
    deadline = time.monotonic() + seconds
    if unit == "epoch":
        epoch_before = run.epoch
        advance_within(run, "batch", count * run.batches_per_epoch - run.batch, seconds)
        return run.epoch - epoch_before
    done, chunk = 0, 1
    while done < count:
        started = time.monotonic()
        want = min(chunk, count - done)
        got = run.step(unit, want)
        done += got
        now = time.monotonic()
        if got < want or now >= deadline:
            break  # diverged, or out of time
        per_stop = (now - started) / got
        # a clock too coarse to time the chunk (per_stop ~ 0) lets the rest go in one call
        fits = (deadline - now) / 2 / per_stop if per_stop > 1e-9 else float(count)
        chunk = max(1, int(min(fits, count - done)))
    return done


# ---- the adaptive frame rate ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadSample:
    """One measuring window of the server process.

    `cpu`: process CPU seconds per wall second (1.0 = one core busy; the GIL keeps a process near one).
    `loop_lag`: p90 of how much later than asked a short sleep on the event loop woke up, seconds: the
    wait any request's next step sees. `ticks_per_second`: play ticks of all sessions together.
    `tick_lateness`: the time play ticks really took from one to the next over the time they were meant
    to (1 = on time; 1.5 = a run meant to tick 20 times a second ticked 13 times): a process that gets
    less than a whole core (two processes and a proxy on two cores) falls behind before its CPU share
    reaches cpu_high or its loop lags much.
    """

    cpu: float
    loop_lag: float
    ticks_per_second: float
    tick_lateness: float = 1.0


class FrameRate:
    """The frame rate every stream and play tick uses now, adapted to the measured load.

    Streaming is the one load the server can shed without refusing anybody: a frame is the full
    visible state, so fewer of them is a coarser animation, never lost work. Over the high marks (CPU,
    event-loop lag, play ticks falling behind their schedule) the rate goes down in proportion to the
    overshoot (at most halved per window, never below min_fps); under the
    low marks it goes back up (at most +25 % per window) toward the middle of the band; inside the band
    it holds, so it does not oscillate. A server that plays only a few sessions is never throttled:
    their frames are too small a share of the work to make room for anything.

    Once the rate is at its floor and the overload goes on, what is left to shed is play itself:
    `play_share` (1 = every run plays at the speed its student chose) goes down the same way, never below
    min_play_share, and comes back first when the load drops. Frames below the floor would make the
    animation jerky and late frames make every click feel slow (measured: 200 playing runs on two
    processes held 11 frames/s with a p95 frame lag of 200-210 ms at full speed); a run that plays at
    15 batches a second instead of 20 shows the same lesson, and what a student does by hand stays fast.
    """

    def __init__(self, *, max_fps: float, min_fps: float, cpu_high: float, cpu_low: float,
                 lag_high: float, min_ticks_per_second: float, min_play_share: float = 1.0,
                 lateness_high: float = 1.25) -> None:
        self.max_fps = max_fps
        self.min_fps = min(min_fps, max_fps)
        self.cpu_high = cpu_high
        self.cpu_low = min(cpu_low, cpu_high)
        self.lag_high = lag_high
        self.lateness_high = lateness_high
        self.min_ticks_per_second = min_ticks_per_second
        self.fps = max_fps
        self.min_play_share = min(min_play_share, 1.0)
        self.play_share = 1.0  # of the speed each playing run was asked for (app/play.py)
        self.last: LoadSample | None = None

    @property
    def interval(self) -> float:
        """Seconds between two frames of one stream (and two ticks of a play at full speed)."""
        return 1.0 / self.fps

    def update(self, sample: LoadSample) -> float:
        """Adapt to one window's measurement; returns the new rate."""
        self.last = sample
        # lag counts only while this process is busy itself: lag with a quiet process means other
        # processes hold the cores, and fewer frames here would not give requests their turn sooner
        busy = sample.cpu >= self.cpu_low
        lag_pressure = sample.loop_lag / self.lag_high if busy else 0.0
        late_pressure = sample.tick_lateness / self.lateness_high if busy else 0.0  # the same reason
        pressure = max(sample.cpu / self.cpu_high, lag_pressure, late_pressure)
        if pressure > 1.0:
            if sample.ticks_per_second >= self.min_ticks_per_second:
                cut = min(pressure, 2.0)
                if self.fps > self.min_fps:
                    self.fps = max(self.min_fps, self.fps / cut)
                else:  # frames at their floor: the plays slow down instead
                    self.play_share = max(self.min_play_share, self.play_share / cut)
        elif (sample.cpu < self.cpu_low and sample.loop_lag < self.lag_high / 2
              and sample.tick_lateness < (1.0 + self.lateness_high) / 2):
            target = (self.cpu_high + self.cpu_low) / 2
            # an idle process (cpu ~ 0) jumps by the full step; load grows about linearly with the rate
            growth = min(1.25, target / sample.cpu) if sample.cpu > 0 else 1.25
            if self.play_share < 1.0:  # the speed students chose comes back before the extra frames
                self.play_share = min(1.0, self.play_share * growth)
            else:
                self.fps = min(self.max_fps, self.fps * growth)
        return self.fps


def quantile(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values` (nearest rank), 0.0 if empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class LoadMonitor:
    """Measures the process every `window` seconds and feeds FrameRate; play loops call `count_tick`.

    The loop lag probe is a short sleep repeated through the window (about 100 wake-ups a second, a few
    microseconds each): how late it wakes is what an arriving request waits for its turn.
    """

    PROBE_SECONDS = 0.01

    def __init__(self, rate: FrameRate, window: float) -> None:
        self.rate = rate
        self.window = window
        self.ticks = 0
        self.tick_seconds_taken = 0.0  # from each play tick to the same run's next one, summed
        self.tick_seconds_meant = 0.0  # what those intervals were meant to be

    def count_tick(self) -> None:
        self.ticks += 1

    def count_interval(self, taken: float, meant: float) -> None:
        """A play loop's interval from one tick to its next: `taken` seconds where `meant` were meant."""
        self.tick_seconds_taken += taken
        self.tick_seconds_meant += meant

    async def measure(self) -> LoadSample:
        """One window's LoadSample (takes `window` seconds of wall time)."""
        loop = asyncio.get_running_loop()
        start, cpu_start, ticks_start = loop.time(), time.process_time(), self.ticks
        taken_start, meant_start = self.tick_seconds_taken, self.tick_seconds_meant
        lags: list[float] = []
        while loop.time() - start < self.window:
            before = loop.time()
            await asyncio.sleep(self.PROBE_SECONDS)
            lags.append(max(0.0, loop.time() - before - self.PROBE_SECONDS))
        wall = loop.time() - start
        meant = self.tick_seconds_meant - meant_start
        lateness = (self.tick_seconds_taken - taken_start) / meant if meant > 0 else 1.0
        return LoadSample(cpu=(time.process_time() - cpu_start) / wall, loop_lag=quantile(lags, 0.9),
                          ticks_per_second=(self.ticks - ticks_start) / wall, tick_lateness=lateness)

    async def run_forever(self) -> None:
        while True:
            self.rate.update(await self.measure())


# ---- the one rate limiter ---------------------------------------------------------------------------
class TokenBuckets:
    """A token bucket per client address: `burst` at once, `per_second` on average, refilling while the
    client is quiet. The one rate limiter: every request (security.RateLimit) and session creation
    (SessionManager.create, `sessions_per_client_per_minute`) each keep one of these.

    The table forgets clients whose bucket is full again, so it cannot grow without bound."""

    MAX_CLIENTS = 10_000

    def __init__(self, per_second: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, last refill time)

    def take(self, client: str) -> float:
        """Take one token; 0 when granted, else the seconds until one is available (nothing taken)."""
        now = self._clock()
        tokens, last = self._buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.per_second)
        if tokens >= 1.0:
            self._buckets[client] = (tokens - 1.0, now)
            wait = 0.0
        else:
            self._buckets[client] = (tokens, now)
            wait = (1.0 - tokens) / self.per_second
        if len(self._buckets) > self.MAX_CLIENTS:
            full_after = self.burst / self.per_second
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}
        return wait

    def __len__(self) -> int:
        return len(self._buckets)


# ---- open streams ------------------------------------------------------------------------------------
class StreamSlots:
    """Counts open SSE streams per client address and in all; `take` refuses past either cap.

    Every open stream holds a socket and a task and, while its session plays, costs frames; the caps
    keep one address (or a runaway page reopening streams) from taking the whole server.
    """

    def __init__(self, per_client: int, total: int) -> None:
        self.per_client = per_client
        self.total = total
        self.open: dict[str, int] = {}
        self.count = 0

    def take(self, client: str) -> tuple[Callable[[], None] | None, dict[str, object] | None]:
        """(release, None) when a slot was taken (release is idempotent), or (None, detail) naming the cap."""
        if self.count >= self.total:
            return None, {"field": "stream_max_total", "limit": self.total,  # the words' {limit}
                          "message": N_("the server has {limit} streams open, its limit; try again soon")}
        if self.open.get(client, 0) >= self.per_client:
            return None, {"field": "stream_max_per_client", "limit": self.per_client,
                          "message": N_("this address has {limit} streams open, its limit; "
                                        "close a tab or try again soon")}
        self.open[client] = self.open.get(client, 0) + 1
        self.count += 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            self.count -= 1
            left = self.open[client] - 1
            if left:
                self.open[client] = left
            else:
                del self.open[client]  # the table holds only addresses with a stream open

        return release, None
