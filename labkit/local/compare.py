"""Socket LB against kube-proxy's iptables DNAT, measured on the local lab (notebook 10).

For each number of services N, the lab gets N services (the seed's `svc` and N-1 more whose
backends exist but are never used), then netpod opens TCP connections and sends a small
HTTP request, alternating between webpod1's pod IP and the service's ClusterIP so both see
the same machine at the same moment: once through the socket LB, once through iptables.
Every figure is kept as a ratio to the direct path of the same run.
"""

from __future__ import annotations

import json
import os
import statistics

import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from labkit import plots
from labkit.errors import LabError

COUNTS = (1, 100, 1000, 5000, 10000)
PATHS = {"pod IP": "pod", "ClusterIP via socket LB": "uplink",
         "pod IP with kube-proxy's rules": "lxc",
         "ClusterIP via iptables": "service"}  # path -> its colour in labkit.plots


def counts_from_env(default: tuple[int, ...] = COUNTS) -> tuple[int, ...]:
    """The service counts to measure: $LABKIT_COUNTS ("1,100,1000") or the issue's five.
    CI sets fewer, to keep the notebook run short."""
    text = os.environ.get("LABKIT_COUNTS", "")
    return tuple(int(n) for n in text.split(",") if n.strip()) or default

# Runs inside netpod: n rounds over the targets, order alternating; per-request seconds.
CLIENT = """
import json, socket, sys, time
targets, n = sys.argv[1].split(","), int(sys.argv[2])
times = {t: [] for t in targets}
for i in range(n):
    for t in (targets if i % 2 == 0 else targets[::-1]):
        start = time.perf_counter()
        s = socket.create_connection((t, 80), timeout=2)
        s.sendall(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")
        while s.recv(4096):
            pass
        s.close()
        times[t].append(time.perf_counter() - start)
print(json.dumps(times))
"""


def require_local(lab) -> None:
    """The experiment switches the lab's service datapath, which only the local lab can do."""
    if getattr(lab, "kind", None) != "local":
        raise LabError("this experiment switches the lab between socket LB and kube-proxy's "
                       "iptables rules, which only the local lab can do: unset LABKIT_LAB "
                       "(or connect('local')) to run it")


def extra_services(names: list[str]) -> str:
    """YAML for services of these names, each selecting the webpods on port 80."""
    return "---\n".join(
        f"apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n"
        "  selector:\n    app: webpod\n  ports:\n  - name: http\n    port: 80\n"
        "    targetPort: 80\n" for name in names)


def set_service_count(lab, n: int) -> None:
    """Leaves exactly n services besides `kubernetes`: `svc` and n-1 bench-<i>, changed in
    one apply or delete each (one service at a time would rewrite the lab's state N times)."""
    want = {f"bench-{i}" for i in range(n - 1)}
    have = {name for name in lab.services().name if name.startswith("bench-")}
    if have - want:
        lab.delete(extra_services(sorted(have - want)))
    if want - have:
        lab.apply(extra_services(sorted(want - have)), wait=False)


def connection_times(lab, targets: list[str], requests: int) -> dict[str, list[float]]:
    """Seconds per connection + small HTTP request from netpod, per target address, the
    targets taken in turn (order alternating) so all see the same machine load."""
    out = lab.exec("netpod", ["/usr/bin/python3", "-c", CLIENT, ",".join(targets),
                              str(requests)], timeout=600, check=True).stdout
    return json.loads(out)


def _row(n: int, path: str, repeat: int, times: list[float], install_s: float | None = None
         ) -> dict:
    ordered = sorted(times)
    return {"services": n, "path": path, "repeat": repeat,
            "connections_per_s": len(times) / sum(times),
            "median_ms": statistics.median(times) * 1e3,
            "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
            "install_s": install_s}


def measure(lab, counts: tuple[int, ...] = COUNTS, requests: int = 300,
            repeats: int = 3) -> pd.DataFrame:
    """One row per (services, path, repeat): connections/s, median and p99 latency, the rule
    install time, and the ratios to the direct path without kube-proxy's rules.

    Each repeat measures both modes back to back: socket LB (the pod IPs and the ClusterIP),
    then kube-proxy's rules (the pod IPs again and the ClusterIP). The second "pod IP with
    kube-proxy's rules" path shows that the rules cost every new connection through the
    node, not only those to a service. The direct path alternates between webpod1's and
    webpod2's pod IPs, as the service's random backend choice does. The lab is left with the
    seed's service only, in socket-LB mode."""
    require_local(lab)
    pods = [lab.pod_ip("webpod1"), lab.pod_ip("webpod2")]
    svc = lab.services()
    vip = svc.loc[svc.name == "svc", "cluster_ip"].item()
    rows = []
    try:
        for n in counts:
            lab.kube_proxy("none")
            set_service_count(lab, n)
            for r in range(repeats):
                lab.kube_proxy("none")
                times = connection_times(lab, [*pods, vip], requests)
                rows += [_row(n, "pod IP", r, times[pods[0]] + times[pods[1]]),
                         _row(n, "ClusterIP via socket LB", r, times[vip])]
                lab.kube_proxy("iptables")
                install = lab.iptables_install_seconds()
                times = connection_times(lab, [*pods, vip], requests)
                rows += [_row(n, "pod IP with kube-proxy's rules", r,
                              times[pods[0]] + times[pods[1]]),
                         _row(n, "ClusterIP via iptables", r, times[vip], install_s=install)]
    finally:
        lab.kube_proxy("none")
        set_service_count(lab, 1)
    return with_ratios(pd.DataFrame(rows))


def with_ratios(df: pd.DataFrame) -> pd.DataFrame:
    """Adds each row's ratios to the "pod IP" row of the same services and repeat: latency
    (median) and connection rate."""
    direct = df[df.path == "pod IP"].set_index(["services", "repeat"])
    key = pd.MultiIndex.from_frame(df[["services", "repeat"]])
    df = df.copy()
    df["latency_ratio"] = df.median_ms.to_numpy() / direct.median_ms.reindex(key).to_numpy()
    df["rate_ratio"] = df.connections_per_s.to_numpy() / direct.connections_per_s.reindex(
        key).to_numpy()
    return df


def summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per services and path: the median over repeats of each figure, and the spread
    (min-max) of the latency ratio."""
    g = df.groupby(["services", "path"])
    out = g[["connections_per_s", "median_ms", "p99_ms", "latency_ratio", "rate_ratio"]].median()
    out["latency_ratio_min"] = g.latency_ratio.min()
    out["latency_ratio_max"] = g.latency_ratio.max()
    out["install_s"] = g.install_s.median()
    return out.reset_index()


@plots.themed
def curves(summary_df: pd.DataFrame) -> Figure:
    """The three paths against the number of services: request latency as a ratio to the
    direct path (with the spread over repeats), connections per second, and the time
    iptables-restore takes to install kube-proxy's rules."""
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    FigureCanvasAgg(fig)
    latency, rate, install = fig.subplots(1, 3)
    for path, kind in PATHS.items():
        rows = summary_df[summary_df.path == path].sort_values("services")
        color = plots.COLORS[kind]
        spread = [rows.latency_ratio - rows.latency_ratio_min,
                  rows.latency_ratio_max - rows.latency_ratio]
        latency.errorbar(rows.services, rows.latency_ratio, yerr=spread, marker="o",
                         color=color, label=path, capsize=3, gid=f"latency {path}")
        rate.plot(rows.services, rows.connections_per_s, marker="o", color=color, label=path,
                  gid=f"rate {path}")
        if path == "ClusterIP via iptables":
            install.plot(rows.services, rows.install_s, marker="o", color=color,
                         gid="install")
    latency.set_title("request latency / direct")
    rate.set_title("connections per second")
    install.set_title("iptables-restore of kube-proxy's rules (s)")
    for ax in (latency, rate, install):
        ax.set_xscale("symlog", linthresh=10)
        ax.set_xlabel("services")
        ax.grid(True)
    latency.legend()
    return fig
