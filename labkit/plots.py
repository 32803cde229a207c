"""Pictures of what the chapters show: a node, a packet's path, services, programs and maps,
syscalls, backends and flows.

Every function takes the DataFrames the labs return (both labs give the same columns) and
returns a matplotlib Figure, which a notebook shows by leaving it as a cell's last value.
Figures have transparent backgrounds and neutral grey text, so they read the same in a light
and a dark JupyterLab theme; colours say what a thing is (a pod, an lxc veth, a node's own
interface, a service), the same in every picture.
"""

from __future__ import annotations

import functools
import io
import ipaddress
import math
from collections.abc import Callable, Mapping

import pandas as pd
from cycler import cycler
from matplotlib import rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

#: text, lines and axes: a grey with enough contrast on white and on JupyterLab's dark grey
NEUTRAL = "#8c8c8c"
#: what each kind of thing is drawn in, in every picture
COLORS = {
    "pod": "#4c8fd6",
    "lxc": "#e0962f",
    "host": "#9a6bd0",
    "uplink": "#2fa57c",
    "service": "#d9574f",
    "program": "#9a6bd0",
    "map": "#2fa57c",
    "highlight": "#d9574f",
}
THEME = {
    "figure.facecolor": "none",
    "axes.facecolor": "none",
    "savefig.facecolor": "none",
    "savefig.transparent": True,
    "text.color": NEUTRAL,
    "axes.labelcolor": NEUTRAL,
    "axes.titlecolor": NEUTRAL,
    "axes.edgecolor": NEUTRAL,
    "xtick.color": NEUTRAL,
    "ytick.color": NEUTRAL,
    "grid.color": NEUTRAL,
    "grid.alpha": 0.3,
    "legend.frameon": False,
    "legend.labelcolor": NEUTRAL,
    "font.size": 9,
    "axes.prop_cycle": cycler(color=[COLORS[k] for k in ("pod", "lxc", "uplink", "service")]),
}
#: the socket calls strace shows in chapter 08; drawn in the highlight colour
NETWORK_SYSCALLS = {"socket", "connect", "getsockname", "getpeername", "sendto", "recvfrom",
                    "sendmsg", "recvmsg", "poll", "ppoll", "select", "setsockopt",
                    "getsockopt", "bind", "accept", "accept4", "shutdown"}


def png(fig: Figure) -> bytes:
    """The figure as a PNG with a transparent background (what a notebook shows)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight", transparent=True)
    return buffer.getvalue()


def _show_figures_in_notebooks() -> None:
    """Figures are made without pyplot (none is kept, none shown twice), so the kernel is told
    here how to show one left as a cell's value."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        shell.display_formatter.formatters["image/png"].for_type(Figure, png)


def themed(draw: Callable[..., Figure]) -> Callable[..., Figure]:
    """Draws inside labkit's theme, so every artist gets its neutral colours."""

    @functools.wraps(draw)
    def wrapper(*args, **kwargs) -> Figure:
        with rc_context(THEME):
            return draw(*args, **kwargs)

    return wrapper


def _figure(width: float, height: float) -> tuple[Figure, object]:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def _canvas(width: float, height: float, xlim: tuple[float, float],
            ylim: tuple[float, float]) -> tuple[Figure, object]:
    """A figure for a drawing: data coordinates, no axes."""
    fig, ax = _figure(width, height)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_axis_off()
    return fig, ax


def _box(ax, x: float, y: float, w: float, h: float, label: str, kind: str,
         fontsize: float = 8) -> tuple[float, float, float, float]:
    color = COLORS[kind]
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                facecolor=to_rgba(color, 0.18), edgecolor=color,
                                linewidth=1.4, gid=kind))
    ax.text(x + w / 2, y + h / 2, label, ha="center", va="center", fontsize=fontsize)
    return x, y, w, h


def _frame(ax, x: float, y: float, w: float, h: float, label: str) -> None:
    """A node (or group) outline with its name in the top left corner."""
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=to_rgba(NEUTRAL, 0.06), edgecolor=NEUTRAL,
                                linewidth=1.0, linestyle="--", gid="node"))
    ax.text(x + 0.1, y + h - 0.1, label, ha="left", va="top", fontsize=9, fontweight="bold")


def _arrow(ax, start: tuple[float, float], end: tuple[float, float], label: str | None = None,
           *, both: bool = False, dashed: bool = False, width: float = 1.2,
           color: str = NEUTRAL, offset: float = 0.12) -> None:
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="<|-|>" if both else "-|>",
                                 mutation_scale=10, color=color, linewidth=width,
                                 linestyle="--" if dashed else "-", gid="arrow",
                                 shrinkA=2, shrinkB=2))
    if label:
        ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + offset, label,
                ha="center", va="bottom", fontsize=7)


def _line(ax, start: tuple[float, float], end: tuple[float, float], *,
          dashed: bool = False) -> None:
    ax.plot([start[0], end[0]], [start[1], end[1]], color=NEUTRAL, linewidth=1.0,
            linestyle="--" if dashed else "-", gid="link")


def texts(fig: Figure) -> list[str]:
    """Every text drawn in a figure (labels, titles, tick labels): what a test or a reader
    can check the picture says."""
    found = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return [t for t in found if t]


# ---- the node and the path across nodes (chapters 03 and 05) ----------------------------

def _is_set(value) -> bool:
    """A real value: not None, NaN or pd.NA (lists count as set)."""
    return not (value is None or value is pd.NA
                or (isinstance(value, float) and math.isnan(value)))


def _route_text(route: Mapping) -> str:
    length = route.get("prefix_len")
    dst = f"{route['dst']}/{int(length)}" if _is_set(length) else str(route["dst"])
    via = f" via {route['gateway']}" if _is_set(route.get("gateway")) else ""
    return f"{dst}{via} dev {route['dev']}"


def _network(route: Mapping) -> ipaddress.IPv4Network | None:
    dst = route.get("dst")
    if not _is_set(dst):
        return None
    if dst == "default":
        return ipaddress.ip_network("0.0.0.0/0")
    length = route.get("prefix_len")
    try:
        return ipaddress.ip_network(f"{dst}/{int(length) if _is_set(length) else 32}",
                                    strict=False)
    except ValueError:
        return None


def route_to(routes: pd.DataFrame, ip: str) -> dict | None:
    """The route the kernel picks for ``ip`` (longest prefix match) in an ``ip -j route``
    table, or None."""
    best, best_len = None, -1
    target = ipaddress.ip_address(ip)
    for route in routes.to_dict("records"):
        net = _network(route)
        if net is not None and target in net and net.prefixlen > best_len:
            best, best_len = route, net.prefixlen
    return best


def _uplink(addrs: pd.DataFrame, routes: pd.DataFrame) -> str | None:
    gateways = routes[routes["gateway"].map(_is_set)] if len(routes) else routes
    if len(gateways):
        return str(gateways["dev"].iloc[0])
    inet = addrs[(addrs["family"] == "inet") & (addrs["scope"] == "global")]
    inet = inet[~inet["ifname"].str.startswith(("cilium", "lxc", "lo"))]
    return str(inet["ifname"].iloc[0]) if len(inet) else None


@themed
def node_diagram(addrs: pd.DataFrame, routes: pd.DataFrame, pods: pd.DataFrame,
                 node: str) -> Figure:
    """One node as chapter 03 describes it: each pod behind its lxc veth, the
    cilium_host/cilium_net pair with the pods' gateway, the uplink, and the routes.

    ``addrs`` and ``routes`` are the node's ``ip -j addr`` and ``ip -j route`` tables,
    ``pods`` is ``lab.pods()`` (the pods of ``node`` are drawn).
    """
    names = list(dict.fromkeys(addrs["ifname"]))
    inet = addrs[addrs["family"] == "inet"]
    address = {}
    for row in inet.to_dict("records"):
        address.setdefault(row["ifname"], f"{row['address']}/{row['prefix_len']}")
    mac = dict(zip(addrs["ifname"], addrs["mac"], strict=True))
    lxcs = [n for n in names if n.startswith("lxc")]
    uplink = _uplink(addrs, routes)
    here = pods[pods["node"] == node]
    pod_by_ip = dict(zip(here["ip"], here["name"], strict=True))
    endpoint_routes = {r["dev"]: r for r in routes.to_dict("records")
                       if r["dev"] in lxcs and _is_set(r.get("dst"))}

    lines = []  # (lxc or None, pod label) from top to bottom
    behind = set()
    for lxc in lxcs:
        route = endpoint_routes.get(lxc)
        ip = route["dst"] if route else None
        if lxc == "lxc_health":
            lines.append((lxc, f"cilium-health\n{ip or ''}"))
        elif ip in pod_by_ip:
            lines.append((lxc, f"{pod_by_ip[ip]}\n{ip}"))
            behind.add(pod_by_ip[ip])
        else:
            lines.append((lxc, f"endpoint\n{ip or '?'}"))
    lines += [(None, f"{name}\n(no endpoint route)")
              for name in sorted(set(here["name"]) - behind)]

    rows = max(len(lines), 3)
    fig, ax = _canvas(12, 1.2 + 0.9 * rows, (0, 13), (-1.6, rows + 0.9))
    _frame(ax, 3.0, -0.3, 9.8, rows + 0.9, f"node {node}")
    for i, (lxc, who) in enumerate(lines):
        y = rows - 1 - i
        _box(ax, 0.2, y, 2.3, 0.7, who, "pod")
        if lxc is None:
            continue
        _box(ax, 3.3, y, 2.6, 0.7, f"{lxc}\n{mac.get(lxc) or ''}", "lxc", 7)
        _arrow(ax, (2.5, y + 0.35), (3.3, y + 0.35), "veth", both=True, offset=0.05)
        route = endpoint_routes.get(lxc)
        if route:
            ax.text(6.0, y + 0.35, f"route {_route_text(route)}", ha="left", va="center",
                    fontsize=7)
    top = rows - 0.2
    _box(ax, 8.3, top - 0.8, 2.1, 0.7, f"cilium_host\n{address.get('cilium_host', '')}",
         "host", 7)
    _box(ax, 8.3, top - 2.0, 2.1, 0.7, "cilium_net", "host", 7)
    _line(ax, (9.35, top - 1.3), (9.35, top - 0.8))
    ax.text(9.45, top - 1.05, "veth pair", ha="left", va="center", fontsize=7)
    ax.text(9.35, top + 0.05, "the pods' gateway", ha="center", va="bottom", fontsize=7)
    if uplink:
        _box(ax, 10.7, 0.0, 1.9, 0.8, f"{uplink}\n{address.get(uplink, '')}", "uplink", 7)
        others = [r for r in routes.to_dict("records") if r["dev"] == uplink]
        listing = "\n".join(_route_text(r) for r in others)
        ax.text(7.9, -0.45, f"routes via {uplink}:\n{listing}", ha="left", va="top",
                fontsize=7)
    return fig


def _endpoint_box(pods: pd.DataFrame, name: str) -> dict:
    found = pods[pods["name"] == name]
    if found.empty:
        raise ValueError(f"no pod {name!r} in the pods table; it has "
                         f"{', '.join(pods['name'])}")
    return found.iloc[0].to_dict()


def _lxc_of(routes: Mapping[str, pd.DataFrame], node: str, ip: str) -> str:
    table = routes.get(node)
    if table is not None:
        route = route_to(table, ip)
        if route and str(route["dev"]).startswith("lxc"):
            return str(route["dev"])
    return "lxc"


@themed
def path_diagram(pods: pd.DataFrame, nodes: pd.DataFrame, source: str, destination: str,
                 routes: Mapping[str, pd.DataFrame] | None = None) -> Figure:
    """The way a packet goes from pod ``source`` to pod ``destination`` (chapter 05): its
    eth0, the lxc veth on its node, the node's route, the wire to the other node (native
    routing: no tunnel), that node's route for the pod, the lxc, the pod.

    ``pods`` is ``lab.pods()``, ``nodes`` is ``lab.nodes()``, ``routes`` maps a node name to
    its ``ip -j route`` table (to name the lxc veths and the routes used).
    """
    routes = routes or {}
    src, dst = _endpoint_box(pods, source), _endpoint_box(pods, destination)
    node_ip = dict(zip(nodes["name"], nodes["internal_ip"], strict=True))
    src_lxc = _lxc_of(routes, src["node"], src["ip"])
    dst_lxc = _lxc_of(routes, dst["node"], dst["ip"])
    same = src["node"] == dst["node"]
    hop = route_to(routes[src["node"]], dst["ip"]) if src["node"] in routes else None
    arrive = route_to(routes[dst["node"]], dst["ip"]) if dst["node"] in routes else None

    steps = [(f"{source}\n{src['ip']}", "pod"), (f"{src_lxc}", "lxc")]
    if not same:
        dev = f"{hop['dev']} " if hop else ""
        steps += [(f"{src['node']}\n{dev}{node_ip.get(src['node'], '')}", "uplink"),
                  (f"{dst['node']}\n{dev}{node_ip.get(dst['node'], '')}", "uplink")]
    steps += [(f"{dst_lxc}", "lxc"), (f"{destination}\n{dst['ip']}", "pod")]
    labels = ["eth0 → veth"]
    if not same:
        labels += [f"route {_route_text(hop)}" if hop else "node's route",
                   "native routing\n(no tunnel)",
                   f"route {_route_text(arrive)}" if arrive else "endpoint route"]
    else:
        labels += [f"route {_route_text(arrive)}" if arrive else "endpoint route"]
    labels += ["veth → eth0"]

    width, gap = 2.0, 1.1
    total = len(steps) * width + (len(steps) - 1) * gap
    fig, ax = _canvas(max(8.0, total * 0.95), 2.8, (-0.3, total + 0.3), (-0.9, 2.2))
    xs = [i * (width + gap) for i in range(len(steps))]
    _frame(ax, xs[1] - 0.25, -0.6, xs[2] + width - xs[1] + 0.5, 2.5, src["node"])
    if not same:
        _frame(ax, xs[3] - 0.25, -0.6, xs[4] + width - xs[3] + 0.5, 2.5, dst["node"])
    for x, (label, kind) in zip(xs, steps, strict=True):
        _box(ax, x, 0, width, 0.8, label, kind)
    for i, label in enumerate(labels):
        _arrow(ax, (xs[i] + width, 0.4), (xs[i + 1], 0.4))
        ax.text(xs[i] + width + gap / 2, 0.95 if i % 2 == 0 else -0.15, label,
                ha="center", va="bottom" if i % 2 == 0 else "top", fontsize=7)
    return fig


# ---- services (chapter 07) ----------------------------------------------------------------

@themed
def service_diagram(service_list: pd.DataFrame, pods: pd.DataFrame | None = None,
                    services: pd.DataFrame | None = None) -> Figure:
    """Each service's frontend (ClusterIP:port) and the backends the socket LB picks from,
    from ``cilium service list`` (``agent.service_list()``). With ``pods`` (``lab.pods()``)
    backends are named by pod and node; with ``services`` (``lab.services()``) frontends by
    service name."""
    backends = service_list[service_list["backend_ip"].map(_is_set)]
    pod_by_ip = {} if pods is None else {
        r["ip"]: f"{r['name']} ({r['node']})" for r in pods.to_dict("records")}
    name_by_ip = {} if services is None else dict(
        zip(services["cluster_ip"], services["name"], strict=True))
    groups = list(backends.groupby(["frontend_ip", "frontend_port"], sort=True))
    count = sum(max(len(g), 1) for _, g in groups) or 1
    fig, ax = _canvas(9, 0.9 + 0.8 * count, (0, 10), (-0.3, count + 0.2))
    row = count
    if not groups:
        ax.text(5, count / 2, "no service has a backend", ha="center", va="center")
    for (ip, port), group in groups:
        top, n = row, len(group)
        mid = top - n / 2
        name = name_by_ip.get(ip)
        label = f"{name}\n{ip}:{port}" if name else f"{ip}:{port}"
        _box(ax, 0.3, mid - 0.35, 2.6, 0.7, label, "service")
        for i, b in enumerate(group.to_dict("records")):
            y = top - i - 0.5
            who = pod_by_ip.get(b["backend_ip"])
            text = f"{b['backend_ip']}:{b['backend_port']}" + (f"\n{who}" if who else "")
            _box(ax, 6.4, y - 0.35, 3.2, 0.7, text, "pod")
            _arrow(ax, (2.9, mid), (6.4, y))
        ax.text(4.65, mid + 0.1, "socket LB\n(connect())", ha="center", va="bottom",
                fontsize=7)
        row -= n
    return fig


# ---- programs and maps (chapters 02 and 06) ------------------------------------------------

@themed
def program_map_graph(programs: pd.DataFrame, maps: pd.DataFrame) -> Figure:
    """Which eBPF program uses which map: ``bpftool prog show`` (its ``map_ids``) on the left,
    ``bpftool map list`` on the right. Programs of the same name (one per endpoint on a
    Cilium node) are drawn once, with how many there are."""
    map_name = {int(r["id"]): (r["name"], r["type"]) for r in maps.to_dict("records")}
    groups: dict[tuple[str, str], dict] = {}
    for r in programs.to_dict("records"):
        key = (str(r["name"]), str(r["type"]))
        group = groups.setdefault(key, {"count": 0, "maps": set()})
        group["count"] += 1
        ids = r.get("map_ids")
        group["maps"].update(int(i) for i in (ids if isinstance(ids, list | tuple) else []))
    used = sorted({i for g in groups.values() for i in g["maps"]},
                  key=lambda i: map_name.get(i, (f"map {i}", ""))[0])
    size = max(len(groups), len(used), 1)
    fig, ax = _canvas(10, 0.8 + 0.6 * size, (0, 10), (-0.2, size + 0.1))
    map_y = {}
    for j, i in enumerate(used):
        y = size - (j + 0.5) * size / max(len(used), 1)
        name, kind = map_name.get(i, (f"map {i}", "?"))
        _box(ax, 6.6, y - 0.22, 3.2, 0.44, f"{name} ({kind})", "map", 7)
        map_y[i] = y
    for k, ((name, kind), group) in enumerate(sorted(groups.items())):
        y = size - (k + 0.5) * size / max(len(groups), 1)
        times = f" ×{group['count']}" if group["count"] > 1 else ""
        _box(ax, 0.2, y - 0.22, 3.4, 0.44, f"{name}{times} ({kind})", "program", 7)
        for i in group["maps"]:
            _line(ax, (3.6, y), (6.6, map_y[i]))
    return fig


def _barh(ax, labels: list[str], values: list[float], colors: list[str]) -> None:
    positions = range(len(labels))
    ax.barh(list(positions), values, color=[to_rgba(c, 0.7) for c in colors],
            edgecolor=colors, gid="bars")
    ax.set_yticks(list(positions), labels)
    ax.invert_yaxis()
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


@themed
def map_entries(map_list: pd.DataFrame) -> Figure:
    """Entries per map, from ``cilium map list`` (chapter 02)."""
    table = map_list.sort_values("entries", ascending=False)
    fig, ax = _figure(8, 0.6 + 0.35 * max(len(table), 1))
    _barh(ax, list(table["name"]), [int(v) for v in table["entries"]],
          [COLORS["map"]] * len(table))
    for y, v in enumerate(table["entries"]):
        ax.text(int(v), y, f" {int(v)}", va="center", fontsize=8)
    ax.set_xlabel("entries")
    ax.set_title("cilium map list: entries per map")
    return fig


@themed
def map_fill(fill: pd.DataFrame) -> Figure:
    """How full each map is: its entries against its max_entries, on a log scale (maps are
    sized for a big cluster, so a lab's use is tiny). ``fill`` has name, entries,
    max_entries (``labkit.views.map_fill`` builds it)."""
    table = fill.sort_values("entries", ascending=False)
    fig, ax = _figure(8, 0.6 + 0.4 * max(len(table), 1))
    positions = list(range(len(table)))
    maxima = [int(v) for v in table["max_entries"]]
    entries = [int(v) for v in table["entries"]]
    ax.barh(positions, maxima, color=to_rgba(NEUTRAL, 0.15), edgecolor=NEUTRAL,
            gid="capacity")
    ax.barh(positions, entries, color=to_rgba(COLORS["map"], 0.8), edgecolor=COLORS["map"],
            gid="bars")
    ax.set_yticks(positions, list(table["name"]))
    ax.invert_yaxis()
    ax.set_xscale("symlog", linthresh=1)
    for y, (n, m) in enumerate(zip(entries, maxima, strict=True)):
        ax.text(max(m, 1), y, f"  {n} / {m} ({100 * n / m:.3g}%)" if m else f"  {n}",
                va="center", fontsize=7)
    ax.set_xlabel("entries (filled) out of max_entries (outline), log scale")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


# ---- strace and backends (chapters 07 and 08) ------------------------------------------------

@themed
def syscall_summary(summary: pd.DataFrame, by: str = "calls", top: int = 15) -> Figure:
    """The ``strace -c`` table as bars (``by``: calls, seconds or percent_time), the socket
    calls in the highlight colour."""
    table = summary[summary["syscall"] != "total"].sort_values(by, ascending=False).head(top)
    fig, ax = _figure(8, 0.6 + 0.3 * max(len(table), 1))
    colors = [COLORS["highlight"] if s in NETWORK_SYSCALLS else COLORS["pod"]
              for s in table["syscall"]]
    _barh(ax, list(table["syscall"]), [float(v) for v in table[by]], colors)
    ax.set_xlabel(by)
    ax.set_title(f"strace -c: syscalls by {by} (socket calls highlighted)")
    return fig


@themed
def backend_distribution(counts: pd.Series) -> Figure:
    """How many of the requests each backend answered, with the even share as a line."""
    fig, ax = _figure(6, 3)
    labels = [str(i) for i in counts.index]
    values = [int(v) for v in counts.to_numpy()]
    ax.bar(range(len(values)), values, color=to_rgba(COLORS["pod"], 0.7),
           edgecolor=COLORS["pod"], gid="bars")
    ax.set_xticks(range(len(values)), labels)
    for x, v in enumerate(values):
        ax.text(x, v, str(v), ha="center", va="bottom")
    if values:
        ax.axhline(sum(values) / len(values), color=NEUTRAL, linestyle="--", linewidth=1)
    ax.set_ylabel("requests answered")
    ax.set_title(f"which backend answered {sum(values)} requests")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


# ---- flows (chapter 04) -----------------------------------------------------------------------

def endpoint_name(flows: pd.DataFrame, side: str) -> pd.Series:
    """A readable name for one end of each flow: the pod, else a reserved identity's label
    (reserved:host, reserved:world...), else the address."""

    def name(row: dict) -> str:
        pod = row[f"{side}_pod"]
        if _is_set(pod) and pod:
            return str(pod)
        labels = row[f"{side}_labels"]
        if isinstance(labels, list | tuple):
            reserved = [lab for lab in labels if str(lab).startswith("reserved:")]
            if reserved:
                return str(reserved[0])
        ip = row[f"{side}_ip"]
        return str(ip) if _is_set(ip) else "?"

    columns = [f"{side}_pod", f"{side}_labels", f"{side}_ip"]
    return pd.Series([name(r) for r in flows[columns].to_dict("records")], index=flows.index,
                     dtype=object)


def flow_counts(flows: pd.DataFrame) -> pd.DataFrame:
    """Who talks to whom: flows counted by source (rows) and destination (columns).
    Replies count for the side that asked, as Hubble's service map draws them."""
    if flows.empty:
        return pd.DataFrame(dtype=int)
    asked = ~flows["is_reply"].fillna(False).astype(bool)
    src = endpoint_name(flows, "source")
    dst = endpoint_name(flows, "destination")
    client = src.where(asked, dst)
    server = dst.where(asked, src)
    table = pd.crosstab(client.rename("source"), server.rename("destination"))
    return table


@themed
def flow_matrix(flows: pd.DataFrame) -> Figure:
    """Who talks to whom, from a flow table (``lab.observe()``): a cell per (client,
    server) pair with how many flows went between them."""
    table = flow_counts(flows)
    rows, cols = list(table.index), list(table.columns)
    fig, ax = _figure(1.8 + 1.1 * max(len(cols), 1), 1.2 + 0.5 * max(len(rows), 1))
    if table.empty:
        ax.text(0.5, 0.5, "no flows", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return fig
    values = table.to_numpy()
    masked = pd.DataFrame(values).where(values > 0).to_numpy(dtype=float)
    ax.imshow(masked, cmap="viridis", alpha=0.75, aspect="auto")
    for i in range(len(rows)):
        for j in range(len(cols)):
            if values[i, j]:
                ax.text(j, i, str(values[i, j]), ha="center", va="center", fontsize=9,
                        fontweight="bold")
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("server (destination)")
    ax.set_ylabel("client (source)")
    ax.set_title("flows: who talks to whom")
    return fig


@themed
def service_map(flows: pd.DataFrame) -> Figure:
    """Hubble UI's service map from a flow table: one circle per endpoint, an arrow from
    client to server labelled with the protocol/port and how many flows."""
    fig, ax = _canvas(8, 6, (-1.6, 1.6), (-1.4, 1.4))
    if flows.empty:
        ax.text(0, 0, "no flows", ha="center", va="center")
        return fig
    asked = ~flows["is_reply"].fillna(False).astype(bool)
    src, dst = endpoint_name(flows, "source"), endpoint_name(flows, "destination")
    client, server = src.where(asked, dst), dst.where(asked, src)
    port = flows["destination_port"].where(asked, flows["source_port"])
    service = [f"{p}/{int(n)}" if _is_set(n) else str(p)
               for p, n in zip(flows["protocol"], port, strict=True)]
    edges: dict[tuple[str, str], list[str]] = {}
    for a, b, what in zip(client, server, service, strict=True):
        edges.setdefault((a, b), []).append(what)
    names = sorted(set(client) | set(server))
    where = {n: (math.cos(2 * math.pi * k / len(names) + math.pi / 2),
                 math.sin(2 * math.pi * k / len(names) + math.pi / 2))
             for k, n in enumerate(names)}
    for (a, b), seen in edges.items():
        n, what = len(seen), ", ".join(sorted(set(seen)))
        (x1, y1), (x2, y2) = where[a], where[b]
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>", mutation_scale=12,
                                     color=COLORS["pod"], linewidth=1 + math.log10(n + 1) * 2,
                                     shrinkA=22, shrinkB=22, connectionstyle="arc3,rad=0.12",
                                     gid="arrow"))
        # the middle of the arc3 curve: half-way to its control point
        ax.text((x1 + x2) / 2 + 0.06 * (y2 - y1), (y1 + y2) / 2 - 0.06 * (x2 - x1),
                f"{what} ×{n}", ha="center", va="center", fontsize=7)
    for name, (x, y) in where.items():
        kind = "host" if name.startswith("reserved:") else "pod"
        ax.add_patch(FancyBboxPatch((x - 0.28, y - 0.1), 0.56, 0.2,
                                    boxstyle="round,pad=0.02,rounding_size=0.08",
                                    facecolor=to_rgba(COLORS[kind], 0.18),
                                    edgecolor=COLORS[kind], gid=kind))
        ax.text(x, y, name, ha="center", va="center", fontsize=8)
    ax.set_title("service map (from flows)")
    return fig


_show_figures_in_notebooks()
