"""Widgets for the notebooks: pick a pod or node and see its table, watch flows arrive while
requests run, watch the backend histogram grow, see a wait progress.

Each widget degrades to a static table or picture when no widget frontend is attached (a
notebook executed by nbval or nbconvert, a plain Python shell): the same call then shows the
final result once, so an executed notebook still shows something meaningful.

Whether a frontend is attached: ``$LABKIT_WIDGETS`` says ``live`` or ``static`` outright;
otherwise (``auto``) widgets are live when the code runs in a Jupyter kernel that a Jupyter
server started for an open notebook (JupyterLab, Notebook 7: the server sets
``$JPY_SESSION_NAME`` in the kernel's environment), or to which a widget manager has already
connected (it opens the ``jupyter.widget.control`` comm, though only once a first widget is
shown). nbval, nbconvert and papermill start their kernels themselves: no server, no manager.
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Sequence

import ipywidgets
import pandas as pd
from IPython.display import clear_output, display
from matplotlib.figure import Figure

from labkit import plots, views
from labkit.errors import LabError

MODE_VARIABLE = "LABKIT_WIDGETS"
#: the flow columns worth watching as they arrive
FLOW_VIEW = ["time", "node", "source_pod", "source_ip", "source_port", "destination_pod",
             "destination_ip", "destination_port", "protocol", "tcp_flags", "verdict",
             "traffic_direction", "summary"]


def live() -> bool:
    """True when widgets can be shown live (see the module's docstring for how it decides)."""
    mode = os.environ.get(MODE_VARIABLE, "auto").strip().lower()
    if mode in ("live", "static"):
        return mode == "live"
    if mode != "auto":
        raise LabError(f"{MODE_VARIABLE} must be live, static or auto, not {mode!r}")
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None or getattr(shell, "kernel", None) is None:
        return False
    return (bool(os.environ.get("JPY_SESSION_NAME"))
            or ipywidgets.Widget._control_comm is not None)


# ---- choose a pod or node, see its table ------------------------------------------------------

def picker(options: Sequence[str], show: Callable[[str], pd.DataFrame | Figure],
           description: str = "pod") -> ipywidgets.Widget | pd.DataFrame | Figure:
    """A drop-down of ``options``; choosing one shows ``show(option)`` below it. Without a
    frontend: ``show`` of the first option, as a plain table or picture."""
    if not options:
        raise LabError(f"nothing to choose from: no {description} given")
    if not live():
        return show(options[0])
    choice = ipywidgets.Dropdown(options=list(options), description=description)
    out = ipywidgets.Output()

    def update(_change: object = None) -> None:
        with out:
            clear_output(wait=True)
            display(show(choice.value))

    choice.observe(update, names="value")
    update()
    return ipywidgets.VBox([choice, out])


# ---- progress for waits ------------------------------------------------------------------------

class Progress:
    """A progress bar that is a widget with a frontend and one closing line without."""

    def __init__(self, total: int, description: str) -> None:
        self.total, self.description, self.value = total, description, 0
        self.started = time.monotonic()
        self.bar: ipywidgets.IntProgress | None = None
        self.label: ipywidgets.Label | None = None
        if live():
            self.bar = ipywidgets.IntProgress(value=0, min=0, max=max(total, 1),
                                              description=description)
            self.label = ipywidgets.Label("")
            display(ipywidgets.HBox([self.bar, self.label]))

    def update(self, value: int, total: int | None = None, note: str = "") -> None:
        self.value = value
        if total is not None:
            self.total = total
        if self.bar is not None and self.label is not None:
            self.bar.max = max(self.total, 1)
            self.bar.value = min(value, self.bar.max)
            self.label.value = f"{value}/{self.total} {note}".strip()

    def close(self, note: str = "") -> None:
        took = time.monotonic() - self.started
        line = f"{self.description}: {self.value}/{self.total} after {took:.1f} s {note}".strip()
        if self.label is not None:
            self.label.value = line
        else:
            print(line)


def wait_ready(lab, timeout: float = 180.0, poll: float = 0.5) -> pd.DataFrame:
    """Waits until every pod shows all its containers ready (``kubectl get pods``, polled),
    with a progress bar; returns the pods. Idempotent: ready pods return at once."""
    progress = Progress(0, "pods ready")
    deadline = time.monotonic() + timeout
    while True:
        pods = lab.pods()
        ready = [p for p in pods.to_dict("records") if _all_ready(p["ready"])
                 and p["status"] == "Running"]
        progress.update(len(ready), len(pods))
        if len(ready) == len(pods):
            progress.close()
            return pods
        if time.monotonic() > deadline:
            stuck = sorted(set(pods["name"]) - {p["name"] for p in ready})
            raise LabError(f"pods not ready after {timeout:.0f} s: {', '.join(stuck)}; "
                           "see their status in lab.pods() and their events")
        time.sleep(poll)


def _all_ready(ready: str) -> bool:
    have, want = str(ready).split("/")
    return have == want


# ---- traffic, watched live -----------------------------------------------------------------

def request_loop(lab, pod: str, url: str, count: int = 100, batch: int = 10) -> pd.Series:
    """Sends ``count`` requests from ``pod`` to ``url`` and draws which backend answered,
    growing batch by batch; returns the counts (backend -> requests). Without a frontend:
    the final bar chart."""
    seen: Counter = Counter()
    progress = Progress(count, "requests")
    out = ipywidgets.Output() if progress.bar is not None else None
    if out is not None:
        display(out)
    for names in views.answers(lab, pod, url, count, batch):
        seen.update(names)
        progress.update(sum(seen.values()))
        if out is not None:
            with out:
                clear_output(wait=True)
                display(plots.backend_distribution(views.counts_series(seen)))
    counts = views.counts_series(seen)
    progress.close()
    if out is None:
        display(plots.backend_distribution(counts))
    return counts


def live_flows(lab, pod: str, url: str, count: int = 30, batch: int = 3,
               rows: int = 12) -> pd.DataFrame:
    """Sends ``count`` requests from ``pod`` to ``url`` (``batch`` at a time) and shows the
    flows of ``pod`` as they arrive (``hubble observe --pod POD --follow``); returns every
    flow seen meanwhile. Without a frontend: the last ``rows`` flows once, at the end."""
    start = pd.Timestamp.now(tz="UTC")
    progress = Progress(count, "requests")
    out = ipywidgets.Output() if progress.bar is not None else None
    if out is not None:
        display(out)
    sent, flows = 0, _flows_since(lab, pod, start)
    for names in views.answers(lab, pod, url, count, batch):
        sent += len(names)
        flows = _flows_since(lab, pod, start)
        progress.update(sent, note=f"requests, {len(flows)} flows")
        if out is not None:
            with out:
                clear_output(wait=True)
                display(_flow_view(flows).tail(rows))
    progress.close(f"({len(flows)} flows)")
    if out is None:
        display(_flow_view(flows).tail(rows))
    return flows


def _flows_since(lab, pod: str, start: pd.Timestamp) -> pd.DataFrame:
    flows = lab.observe(pod=pod)
    return flows[flows["time"] >= start].reset_index(drop=True)


def _flow_view(flows: pd.DataFrame) -> pd.DataFrame:
    return flows[[c for c in FLOW_VIEW if c in flows.columns]]
