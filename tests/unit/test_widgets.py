"""Widgets: live with a frontend, one static table or picture without (nbval); how the mode
is decided; what each shows while it runs and what it returns."""

from __future__ import annotations

import re
import subprocess
from types import SimpleNamespace

import ipywidgets
import pandas as pd
import pytest
from matplotlib.figure import Figure

from labkit import widgets
from labkit.errors import LabError
from labkit.parsers._text import frame
from labkit.parsers.hubble import FLOW_COLUMNS


class FakeLab:
    """Answers curl loops alternately from webpod1 and webpod2 and records a flow per
    request; its pods become ready after ``ready_after`` looks."""

    def __init__(self, ready_after: int = 0) -> None:
        self.requests = 0
        self.looks = 0
        self.ready_after = ready_after
        self.flows: list[dict] = []

    def exec(self, pod: str, command: str, **_: object) -> subprocess.CompletedProcess:
        n = int(re.search(r"seq (\d+)", command)[1])
        lines = []
        for _i in range(n):
            self.requests += 1
            backend = f"webpod{1 + self.requests % 2}"
            lines.append(f"Hostname: {backend}")
            self.flows.append({"time": pd.Timestamp.now(tz="UTC"), "source_pod": pod,
                               "destination_pod": backend, "protocol": "TCP"})
        return subprocess.CompletedProcess(command, 0, "\n".join(lines) + "\n", "")

    def observe(self, pod: str | None = None) -> pd.DataFrame:
        return frame(list(self.flows), FLOW_COLUMNS)

    def pods(self) -> pd.DataFrame:
        self.looks += 1
        ready = "1/1" if self.looks > self.ready_after else "0/1"
        return pd.DataFrame({"name": ["netpod", "webpod1"], "ready": [ready, "1/1"],
                             "status": ["Running", "Running"]})


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list:
    """What the widgets display, in order (instead of a notebook's output area)."""
    seen: list = []
    monkeypatch.setattr(widgets, "display", seen.append)
    monkeypatch.setattr(widgets, "clear_output", lambda wait=False: None)
    return seen


@pytest.fixture
def static(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(widgets.MODE_VARIABLE, "static")


@pytest.fixture
def with_frontend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(widgets.MODE_VARIABLE, "live")


def test_without_a_kernel_widgets_are_static(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv(widgets.MODE_VARIABLE, raising=False)
    assert widgets.live() is False


@pytest.fixture
def in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(widgets.MODE_VARIABLE, raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setattr("IPython.get_ipython", lambda: SimpleNamespace(kernel=object()))
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", None)


def test_a_kernel_started_by_nbval_or_nbconvert_is_static(in_a_kernel):
    assert widgets.live() is False, "a kernel, but no server and no widget manager"


def test_a_kernel_a_jupyter_server_started_for_a_notebook_is_live(
        in_a_kernel, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notebooks/07_services_socket_lb.ipynb")
    assert widgets.live() is True


def test_a_kernel_a_widget_manager_connected_to_is_live(
        in_a_kernel, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(ipywidgets.Widget, "_control_comm", object())
    assert widgets.live() is True


def test_the_environment_decides_when_it_says_so(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(widgets.MODE_VARIABLE, "live")
    assert widgets.live() is True
    monkeypatch.setenv(widgets.MODE_VARIABLE, "static")
    assert widgets.live() is False
    monkeypatch.setenv(widgets.MODE_VARIABLE, "sometimes")
    with pytest.raises(LabError, match="live, static or auto"):
        widgets.live()


def test_picker_without_frontend_shows_the_first_options_table(static):
    table = widgets.picker(["k8s-s", "k8s-w1"], lambda n: pd.DataFrame({"node": [n]}))
    assert table["node"].tolist() == ["k8s-s"]


def test_picker_with_frontend_shows_the_chosen_options_table(with_frontend, shown):
    asked: list[str] = []

    def show(node: str) -> pd.DataFrame:
        asked.append(node)
        return pd.DataFrame({"node": [node]})

    box = widgets.picker(["k8s-s", "k8s-w1"], show, "node")
    choice, _out = box.children
    choice.value = "k8s-w1"
    assert asked == ["k8s-s", "k8s-w1"]
    assert [df["node"].iloc[0] for df in shown] == ["k8s-s", "k8s-w1"]


def test_picker_with_nothing_to_choose_says_so(static):
    with pytest.raises(LabError, match="no pod given"):
        widgets.picker([], lambda n: pd.DataFrame())


def test_request_loop_without_frontend_draws_the_final_histogram_once(static, shown, capsys):
    counts = widgets.request_loop(FakeLab(), "netpod", "10.96.0.10", count=10, batch=4)
    assert counts.to_dict() == {"webpod1": 5, "webpod2": 5}
    assert len(shown) == 1 and isinstance(shown[0], Figure)
    assert "requests: 10/10" in capsys.readouterr().out


def test_request_loop_with_frontend_redraws_after_every_batch(with_frontend, shown):
    counts = widgets.request_loop(FakeLab(), "netpod", "10.96.0.10", count=10, batch=4)
    assert counts.sum() == 10
    bars = [w for w in shown if isinstance(w, ipywidgets.HBox)]
    assert bars[0].children[0].value == 10, "the progress bar reached the end"
    figures = [w for w in shown if isinstance(w, Figure)]
    assert len(figures) == 3, "one picture per batch of 4, 4 and 2"


def test_live_flows_without_frontend_shows_the_last_flows_once(static, shown):
    lab = FakeLab()
    flows = widgets.live_flows(lab, "netpod", "10.96.0.10", count=6, batch=2, rows=4)
    assert len(flows) == 6
    tables = [w for w in shown if isinstance(w, pd.DataFrame)]
    assert len(tables) == 1 and len(tables[0]) == 4
    assert "summary" in tables[0].columns


def test_live_flows_with_frontend_fills_the_table_batch_by_batch(with_frontend, shown):
    widgets.live_flows(FakeLab(), "netpod", "10.96.0.10", count=6, batch=2)
    tables = [w for w in shown if isinstance(w, pd.DataFrame)]
    assert [len(t) for t in tables] == [2, 4, 6]


def test_live_flows_leaves_out_flows_from_before_it_started(static, shown):
    lab = FakeLab()
    lab.flows.append({"time": pd.Timestamp("2020-01-01", tz="UTC"), "source_pod": "netpod"})
    assert len(widgets.live_flows(lab, "netpod", "x", count=2, batch=2)) == 2


def test_wait_ready_polls_until_every_pod_is_ready(static, capsys):
    lab = FakeLab(ready_after=2)
    pods = widgets.wait_ready(lab, poll=0.0)
    assert lab.looks == 3 and pods["ready"].tolist() == ["1/1", "1/1"]
    assert "pods ready: 2/2" in capsys.readouterr().out


def test_wait_ready_names_the_pods_still_waiting(static):
    with pytest.raises(LabError, match="pods not ready after 0 s: netpod"):
        widgets.wait_ready(FakeLab(ready_after=99), timeout=0.0, poll=0.0)
