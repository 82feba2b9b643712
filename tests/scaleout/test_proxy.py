"""A school in miniature (tests/scaleout/cluster.py): real PostgreSQL, two real stepwise processes and
the real HAProxy running deploy/haproxy.cfg. Runs keep their process; kill -9 one process while its runs
play and the other carries on with every manual step and the stream resumes; SIGTERM hands over."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import in_ci
from tests.scaleout.cluster import Cluster, haproxy_missing

pytestmark = pytest.mark.slow


@pytest.fixture
def make_cluster(postgres_server: Any, tmp_path: Path) -> Iterator[Any]:
    reason = haproxy_missing()
    if reason is not None:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    made: list[Cluster] = []

    def make(**env: str) -> Cluster:
        cluster = Cluster(tmp_path, postgres_server.database(), env={"STEPWISE_" + k.upper(): v
                                                                     for k, v in env.items()})
        made.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


class Run:
    """A run made through the proxy, with its owner token."""

    def __init__(self, client: httpx.Client) -> None:
        answer = client.post("/api/sessions", json={"hidden": [{"units": 4}], "batch_size": 10})
        assert answer.status_code == 201, answer.text
        self.client = client
        self.id = answer.json()["id"]
        self.owner = {"X-Stepwise-Token": answer.json()["token"]}

    def state(self) -> dict[str, Any]:
        answer = self.client.get(f"/api/sessions/{self.id}")
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    def export(self) -> dict[str, Any]:
        answer = self.client.get(f"/api/sessions/{self.id}/export")
        assert answer.status_code == 200, answer.text
        document: dict[str, Any] = answer.json()
        return document

    def step(self, unit: str, count: int) -> dict[str, Any]:
        answer = self.client.post(f"/api/sessions/{self.id}/step", json={"unit": unit, "count": count},
                                  headers=self.owner)
        assert answer.status_code == 200, answer.text
        state: dict[str, Any] = answer.json()
        return state

    def play(self) -> None:
        answer = self.client.post(f"/api/sessions/{self.id}/play", json={"unit": "batch", "speed": 20},
                                  headers=self.owner)
        assert answer.status_code == 200, answer.text


def read_events(client: httpx.Client, path: str, wanted: int,
                headers: dict[str, str] | None = None) -> list[tuple[str, int, dict[str, Any]]]:
    """The first `wanted` events of an SSE stream: (event name, id, data)."""
    events: list[tuple[str, int, dict[str, Any]]] = []
    name, event_id = "message", -1
    with client.stream("GET", path, headers=headers) as response:
        assert response.status_code == 200, response.read()
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("id:"):
                event_id = int(line[3:].strip())
            elif line.startswith("data:"):
                events.append((name, event_id, json.loads(line[5:])))
                if len(events) >= wanted:
                    break
    return events


def client_for(cluster: Cluster) -> httpx.Client:
    return httpx.Client(base_url=cluster.url, timeout=httpx.Timeout(60.0))


def test_runs_created_through_the_proxy_keep_their_process(make_cluster: Any) -> None:
    cluster = make_cluster()
    with client_for(cluster) as client:
        runs = [Run(client) for _ in range(8)]
        first = cluster.holders()
        assert {first[run.id] for run in runs} == {"app1", "app2"}  # new runs spread over both
        for run in runs:
            run.step("micro", 2)
            assert client.get(f"/?session={run.id}").status_code == 200
            assert client.post(f"/ui/{run.id}/step", data={"unit": "batch"}, headers=run.owner
                               ).status_code == 200
            assert client.get(f"/ui/{run.id}/inspector").status_code == 200
            (event, event_id, frame), = read_events(client, f"/api/sessions/{run.id}/stream", 1)
            assert event == "snapshot" and event_id == run.state()["step_id"] == frame["id"]
        assert {run.id: cluster.holders()[run.id] for run in runs} == {run.id: first[run.id] for run in runs}
        for name in cluster.apps:  # no run ever had to be asked for: nobody handed one over
            assert "lost the lease" not in cluster.apps[name].log()


def test_kill_9_one_process_and_its_runs_go_on_in_the_other_with_every_manual_step(make_cluster: Any) -> None:
    cluster = make_cluster(lease_seconds="4", save_interval_seconds="1")
    with client_for(cluster) as client:
        runs = [Run(client) for _ in range(6)]
        holders = cluster.holders()
        victim = holders[runs[0].id]
        survivor = next(name for name in cluster.apps if name != victim)
        mine = [run for run in runs if holders[run.id] == victim]
        theirs = [run for run in runs if holders[run.id] == survivor]
        assert len(mine) >= 2, holders
        stepped, playing = mine[0], mine[1]
        stepped.step("micro", 3)
        stepped.step("batch", 2)
        last_step = stepped.step("micro", 1)
        expected = stepped.export()
        before_play = playing.state()["step_id"]
        playing.play()
        # wait for a save made while it plays (every save_interval_seconds): what a kill keeps
        def saved_since_play() -> int:
            saved = cluster.saved_step_id(playing.id) or 0
            return saved if saved > before_play else 0

        saved_while_playing = cluster.wait_for(saved_since_play, "a save of the playing run")
        seen = read_events(client, f"/api/sessions/{playing.id}/stream", 3)
        last_seen = seen[-1][1]
        others = {run.id: run.export() for run in theirs}

        cluster.apps[victim].kill()

        # the manual steps all survived, bit for bit, and the run now lives in the survivor
        assert stepped.export() == expected
        assert cluster.holders()[stepped.id] == survivor
        assert stepped.step("micro", 1)["step_id"] == last_step["step_id"] + 1
        # the playing run plays on over there (the lease carried its play state)
        after = playing.state()
        assert after["playing"] is True
        cluster.wait_for(lambda: playing.state()["step_id"] > after["step_id"], "the run to play on")
        # a stream that reconnects with Last-Event-ID gets a snapshot, then newer frames
        events = read_events(client, f"/api/sessions/{playing.id}/stream", 3,
                             headers={"Last-Event-ID": str(last_seen)})
        assert events[0][0] == "snapshot"
        # restored from that save, not from the start (once, at load 20, this saw 3 >= 5: the processes'
        # logs say whether a hand-over before the kill was involved)
        assert events[0][1] >= saved_while_playing, cluster.logs()
        assert [name for name, _, _ in events[1:]] == ["frame", "frame"]
        assert events[0][1] < events[1][1] < events[2][1]
        # the survivor's own runs were never touched
        assert {run.id: run.export() for run in theirs} == others
        assert all(cluster.holders()[run.id] == survivor for run in theirs)


def test_sigterm_saves_every_run_and_hands_over_cleanly(make_cluster: Any) -> None:
    # leases of 10 minutes: had the stopping process not let its leases go, the survivor could not take
    # them within the test's timeouts
    cluster = make_cluster(lease_seconds="600")
    with client_for(cluster) as client:
        runs = [Run(client) for _ in range(6)]
        holders = cluster.holders()
        victim = holders[runs[0].id]
        mine = [run for run in runs if holders[run.id] == victim]
        assert len(mine) >= 2, holders
        stepped, playing = mine[0], mine[1]
        stepped.step("batch", 3)
        expected = stepped.export()
        playing.play()
        cluster.wait_for(lambda: playing.state()["step_id"] >= 5, "the run to play a few batches")
        names: list[str] = []
        last_id = [-1]

        def follow() -> None:  # a page's stream, open while the process stops
            with httpx.Client(base_url=cluster.url, timeout=httpx.Timeout(60.0)) as reader:
                try:
                    with reader.stream("GET", f"/api/sessions/{playing.id}/stream") as response:
                        for line in response.iter_lines():
                            if line.startswith("event:"):
                                names.append(line[6:].strip())
                            elif line.startswith("id:"):
                                last_id[0] = int(line[3:].strip())
                except httpx.HTTPError:
                    names.append("dropped")

        reader = threading.Thread(target=follow)
        reader.start()
        cluster.wait_for(lambda: len(names) >= 3, "the stream to carry frames")
        assert cluster.apps[victim].terminate() in (0, -15)
        reader.join(timeout=60)
        assert not reader.is_alive()
        assert "closed" not in names  # the page reconnects instead of giving up
        before_stop = last_id[0]

        after = playing.state()  # taken over at once: the lease was let go
        assert after["playing"] is True
        assert after["step_id"] >= before_stop  # saved on the way out: not a frame lost
        cluster.wait_for(lambda: playing.state()["step_id"] > after["step_id"], "the run to play on")
        assert stepped.export() == expected
        assert "Traceback" not in cluster.apps[victim].log()
