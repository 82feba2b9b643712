"""Load control: the adaptive frame rate fed measured numbers, play ticks following it, interactive
requests first, inline reads, and the caps on open SSE streams (a real uvicorn process for the 429)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from app.limits import FrameRate, LoadMonitor, LoadSample, StreamSlots
from app.sessions import INLINE_READ_SECONDS, SessionManager
from app.settings import Settings
from app.store import SQLiteStore
from engine.stepper import Run, RunConfig
from tests.app.test_stream import start_server, stop_server
from tests.clock import ManualClock, other_tasks, run_on_clock


def _rate(**overrides: float) -> FrameRate:
    knobs = {"max_fps": 20.0, "min_fps": 10.0, "cpu_high": 0.75, "cpu_low": 0.5, "lag_high": 0.02,
             "min_ticks_per_second": 200.0, **overrides}
    return FrameRate(**knobs)


def test_an_idle_server_keeps_the_full_frame_rate() -> None:
    rate = _rate()
    for _ in range(5):
        rate.update(LoadSample(cpu=0.03, loop_lag=0.001, ticks_per_second=20))
    assert rate.fps == 20.0 and rate.interval == pytest.approx(0.05)


def test_a_busy_cpu_lowers_the_rate_in_proportion_to_the_overshoot() -> None:
    rate = _rate()
    rate.update(LoadSample(cpu=0.9, loop_lag=0.005, ticks_per_second=2000))
    assert rate.fps == pytest.approx(20.0 * 0.75 / 0.9)  # 16.7: load ~ rate, so this lands on cpu_high


def test_the_rate_never_goes_below_the_floor_however_long_the_overload() -> None:
    rate = _rate()
    falls = [rate.update(LoadSample(cpu=1.0, loop_lag=0.3, ticks_per_second=4000)) for _ in range(6)]
    assert falls[0] == 10.0  # a 15x lag overshoot halves at most: 20 -> 10
    assert min(falls) == 10.0 == rate.fps


def test_event_loop_lag_of_a_busy_process_lowers_the_rate_even_under_the_cpu_mark() -> None:
    rate = _rate()
    rate.update(LoadSample(cpu=0.6, loop_lag=0.025, ticks_per_second=1500))
    assert rate.fps == pytest.approx(20.0 / 1.25)


def test_lag_while_this_process_is_quiet_is_other_processes_and_does_not_throttle() -> None:
    rate = _rate()
    rate.update(LoadSample(cpu=0.4, loop_lag=0.1, ticks_per_second=1500))
    assert rate.fps == 20.0


def test_a_few_playing_sessions_are_never_throttled() -> None:
    rate = _rate()
    rate.update(LoadSample(cpu=1.0, loop_lag=0.1, ticks_per_second=40))
    assert rate.fps == 20.0


def test_the_rate_holds_inside_the_band_and_climbs_back_when_load_drops() -> None:
    rate = _rate()
    rate.update(LoadSample(cpu=1.5, loop_lag=0.01, ticks_per_second=3000))
    assert rate.fps == 10.0
    rate.update(LoadSample(cpu=0.6, loop_lag=0.005, ticks_per_second=1000))  # inside [low, high]
    assert rate.fps == 10.0
    rate.update(LoadSample(cpu=0.5, loop_lag=0.015, ticks_per_second=1000))  # lag over half of high
    assert rate.fps == 10.0
    climb = [rate.update(LoadSample(cpu=0.3, loop_lag=0.002, ticks_per_second=1000)) for _ in range(4)]
    assert climb[0] == pytest.approx(12.5)  # at most +25 % a window
    assert climb == sorted(climb) and climb[-1] == 20.0  # and never past stream_max_fps


def test_past_the_frame_floor_an_overload_slows_play_and_the_speed_comes_back_first() -> None:
    rate = _rate(min_play_share=0.5)
    rate.update(LoadSample(cpu=1.5, loop_lag=0.01, ticks_per_second=3000))
    assert (rate.fps, rate.play_share) == (10.0, 1.0)  # frames go first, the speed stays
    rate.update(LoadSample(cpu=0.9, loop_lag=0.01, ticks_per_second=3000))
    assert rate.fps == 10.0 and rate.play_share == pytest.approx(0.75 / 0.9)  # then play, in proportion
    for _ in range(5):
        rate.update(LoadSample(cpu=1.5, loop_lag=0.3, ticks_per_second=3000))
    assert (rate.fps, rate.play_share) == (10.0, 0.5)  # never below its floor
    rate.update(LoadSample(cpu=0.6, loop_lag=0.005, ticks_per_second=1000))  # inside the band: holds
    assert (rate.fps, rate.play_share) == (10.0, 0.5)
    back = [(rate.update(LoadSample(cpu=0.3, loop_lag=0.002, ticks_per_second=1000)), rate.play_share)
            for _ in range(8)]
    # +25 % a window, the speed first: 0.5 -> 0.625 -> 0.78 -> 0.98 -> 1
    assert [share for _, share in back[:4]] == pytest.approx([0.625, 0.78125, 0.9765625, 1.0])
    assert all(fps == 10.0 for fps, _ in back[:4])
    assert back[4] == (12.5, 1.0) and back[-1] == (20.0, 1.0)  # then the frames


def test_a_server_without_a_play_floor_keeps_every_runs_speed() -> None:
    rate = _rate()  # min_play_share defaults to 1: only frames are shed
    for _ in range(4):
        rate.update(LoadSample(cpu=2.0, loop_lag=0.3, ticks_per_second=5000))
    assert (rate.fps, rate.play_share) == (10.0, 1.0)


def test_ticks_falling_behind_their_schedule_lower_the_rate_though_cpu_and_lag_look_fine() -> None:
    rate = _rate(lateness_high=1.25)
    # 0.7 of a core (inside the CPU band) and little loop lag, but every tick took 1.5x its interval:
    # a process that cannot get a whole core
    rate.update(LoadSample(cpu=0.7, loop_lag=0.005, ticks_per_second=1500, tick_lateness=1.5))
    assert rate.fps == pytest.approx(20.0 / (1.5 / 1.25))
    quiet = _rate(lateness_high=1.25)  # late ticks while this process is quiet: other processes' doing
    quiet.update(LoadSample(cpu=0.3, loop_lag=0.005, ticks_per_second=1500, tick_lateness=1.5))
    assert quiet.fps == 20.0
    # and the rate climbs back only once the ticks are near their schedule again
    rate.update(LoadSample(cpu=0.3, loop_lag=0.002, ticks_per_second=1000, tick_lateness=1.2))
    assert rate.fps == pytest.approx(20.0 / 1.2)
    rate.update(LoadSample(cpu=0.3, loop_lag=0.002, ticks_per_second=1000, tick_lateness=1.05))
    assert rate.fps == 20.0  # +25 %, up to stream_max_fps


def test_a_window_reports_how_far_behind_schedule_the_play_ticks_were() -> None:
    async def scenario() -> LoadSample:
        monitor = LoadMonitor(_rate(), window=0.05)
        monitor.count_interval(0.06, 0.05)  # counted before the window: not in it
        task = asyncio.ensure_future(monitor.measure())
        await asyncio.sleep(0)  # the window has started
        monitor.count_interval(0.075, 0.05)
        monitor.count_interval(0.05, 0.05)
        return await task

    assert asyncio.run(scenario()).tick_lateness == pytest.approx(0.125 / 0.1)


def test_a_window_without_play_ticks_is_on_time() -> None:
    assert asyncio.run(LoadMonitor(_rate(), window=0.02).measure()).tick_lateness == 1.0


def test_a_measured_window_reports_the_ticks_counted_and_a_small_lag() -> None:
    async def scenario() -> LoadSample:
        monitor = LoadMonitor(_rate(), window=0.2)

        async def play() -> None:
            for _ in range(30):
                monitor.count_tick()
                await asyncio.sleep(0.001)

        sample, _ = await asyncio.gather(monitor.measure(), play())
        return sample

    sample = asyncio.run(scenario())
    # the 30 ticks counted are spread over the window's wall time, which is at least the window (longer
    # on a busy machine): a rate of at most 30 / 0.2; CPU and loop lag are shares and delays, never < 0
    assert 0.0 < sample.ticks_per_second <= 30 / 0.2
    assert sample.cpu >= 0.0 and sample.loop_lag >= 0.0


def _manager(data_dir: Path) -> SessionManager:
    settings = Settings(data_dir=data_dir, stream_max_fps=20, stream_min_fps=10)
    return SessionManager(settings, SQLiteStore(data_dir / "s.sqlite3"))


def test_play_at_a_lowered_rate_keeps_its_speed_with_more_steps_per_tick_and_fewer_maps(
    tmp_path: Path,
) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int, int, int]:
        # stream_maps_fps 4 at 20 fps; a measured overload lowers the rate to 10 fps
        manager.rate.update(LoadSample(cpu=2.0, loop_lag=0.2, ticks_per_second=5000))
        assert manager.rate.fps == 10.0
        session = await manager.create(lambda: Run(RunConfig()), "test")
        versions, maps = session.broadcaster.version, session.broadcaster.maps_version
        session.subscribers += 1  # watched, so play builds maps
        await manager.play(session, "batch", 20)
        await clock.advance(0.999, other_tasks)  # ticks of 1/10 s on the manager's clock: 10 ticks
        return (manager.monitor.ticks, session.run.updates, session.broadcaster.version - versions,
                session.broadcaster.maps_version - maps)

    ticks, updates, published, maps = run_on_clock(tmp_path, scenario, stream_max_fps=20, stream_min_fps=10)
    assert ticks == 10
    assert updates == 2 * ticks  # 20 batches/s in ticks of 1/10 s: two batches a tick, exactly
    assert published == ticks  # one frame per tick
    # maps at 4 * 10/20 = 2 per second: the first watched tick, then every 5th tick (4 per second at 10
    # ticks/s would be every 3rd)
    assert maps == 1 + (ticks - 1) // 5


def test_play_slowed_by_the_play_share_trains_that_share_of_its_batches(tmp_path: Path) -> None:
    async def scenario(manager: SessionManager, clock: ManualClock) -> tuple[int, int]:
        for _ in range(3):  # an overload that goes on past the frame floor
            manager.rate.update(LoadSample(cpu=2.0, loop_lag=0.2, ticks_per_second=5000))
        assert (manager.rate.fps, manager.rate.play_share) == (10.0, 0.5)
        session = await manager.create(lambda: Run(RunConfig()), "test")
        await manager.play(session, "batch", 20)
        await clock.advance(0.999, other_tasks)
        return manager.monitor.ticks, session.run.updates

    ticks, updates = run_on_clock(tmp_path, scenario, stream_max_fps=20, stream_min_fps=10,
                                  load_min_play_share=0.5)
    assert ticks == 10  # the frame rate stays at its floor
    assert updates == 10  # 20 batches/s asked, half given: one batch a tick


def test_a_cheap_read_runs_inline_after_it_was_measured_once_in_a_thread() -> None:
    async def scenario(data_dir: Path) -> tuple[bool, float, int]:
        manager = _manager(data_dir)
        session = await manager.create(lambda: Run(RunConfig()), "test")

        def look(run: Run) -> int:
            return run.step_id

        first = await manager.read(session, look)
        measured = session.read_seconds[look.__code__]
        second = await manager.read(session, look)
        await manager.shutdown()
        return first == second, measured, len(session.read_seconds)

    with tempfile.TemporaryDirectory() as directory:
        same, measured, kinds = asyncio.run(scenario(Path(directory)))
    assert same and 0.0 <= measured < INLINE_READ_SECONDS and kinds == 1


def test_stream_slots_refuse_past_the_per_client_and_the_total_cap_and_come_back() -> None:
    slots = StreamSlots(per_client=2, total=3)
    a1, _ = slots.take("10.0.0.1")
    a2, _ = slots.take("10.0.0.1")
    refused, detail = slots.take("10.0.0.1")
    assert refused is None and detail is not None and detail["field"] == "stream_max_per_client"
    b1, _ = slots.take("10.0.0.2")
    refused, detail = slots.take("10.0.0.3")
    assert refused is None and detail is not None and detail["field"] == "stream_max_total"
    assert detail["limit"] == 3
    assert a1 is not None and a2 is not None and b1 is not None
    a1()
    a1()  # the route and the stream both release: the second time is a no-op
    assert slots.count == 2 and slots.open == {"10.0.0.1": 1, "10.0.0.2": 1}
    again, detail = slots.take("10.0.0.1")
    assert again is not None and detail is None
    for release in (again, a2, b1):
        release()
    assert slots.count == 0 and slots.open == {}


def test_a_stream_past_the_per_client_cap_is_a_429_naming_it_until_one_closes(tmp_path: Path) -> None:
    server = start_server(tmp_path, stream_max_per_client="2")
    try:
        url = server.url
        sid = httpx.post(f"{url}/api/sessions", json={}).json()["id"]
        stream_url = f"{url}/api/sessions/{sid}/stream"
        with httpx.stream("GET", stream_url, timeout=10) as one, \
                httpx.stream("GET", stream_url, timeout=10) as two:
            assert one.status_code == two.status_code == 200
            refused = httpx.get(stream_url, timeout=10)
            assert refused.status_code == 429
            detail = refused.json()["detail"]
            assert detail["field"] == "stream_max_per_client" and detail["limit"] == 2
            assert "2 streams" in detail["message"]
        deadline = time.monotonic() + 10
        while True:  # the server lets go of a slot once it sees the disconnect
            with httpx.stream("GET", stream_url, timeout=10) as three:
                if three.status_code == 200:
                    break
            assert time.monotonic() < deadline, "a closed stream never gave its slot back"
            time.sleep(0.2)
    finally:
        stop_server(server)


def test_healthz_says_what_load_control_sheds_now(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    from app.main import create_app

    # a measuring window of an hour: the server's own monitor changes nothing during the test
    app = create_app(Settings(data_dir=tmp_path, stream_max_fps=20, stream_min_fps=10,
                              load_min_play_share=0.5, load_window_seconds=3600))
    with TestClient(app) as client:
        assert client.get("/healthz").json()["load"] == {"frames_per_second": 20.0, "play_speed_share": 1.0}
        for _ in range(3):  # an overload past the frame floor
            app.state.sessions.rate.update(LoadSample(cpu=2.0, loop_lag=0.2, ticks_per_second=5000))
        assert client.get("/healthz").json()["load"] == {"frames_per_second": 10.0, "play_speed_share": 0.5}
