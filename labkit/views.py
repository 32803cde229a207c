"""What the chapters compute from a lab: tables joined from several commands, request loops,
captures taken while traffic runs.

Every function here talks to the lab only through the API both labs share (``lab.pods()``,
``lab.exec``, ``lab.node(n).run``, ``lab.agent(n)``, ``lab.observe``), so a notebook cell
reads the same on a real cluster and on the local lab. The pure ones (``asked_vs_got``,
``map_fill``, ``hubble_filter``...) take DataFrames and are tested without a lab.
"""

from __future__ import annotations

import ipaddress
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterator

import pandas as pd

from labkit import data
from labkit.errors import LabError, LabkitError
from labkit.parsers import parse
from labkit.plots import route_to

#: the study's host outside the cluster (testpc): the "outside" the notebooks talk to, so that
#: no traffic ever leaves the machine (the seed pinged 8.8.8.8; the local lab never does)
OUTSIDE_HOST = "192.168.10.200"


# ---- bringing a lab to a chapter's state ---------------------------------------------------

def seed(lab, service: bool = True) -> list[str]:
    """The seed's pods (netpod, webpod1, webpod2) and, with ``service``, its service ``svc``,
    applied and ready. Safe to run again: apply is create-or-update."""
    done = lab.apply(data.path(data.SEED_PODS))
    if service:
        done += lab.apply(data.path(data.SEED_SERVICE))
    return done


def node_of(lab, pod: str) -> str:
    """The node a pod runs on (the cluster lab's node names differ from the seed's)."""
    pods = lab.pods()
    found = pods[pods["name"] == pod]
    if found.empty:
        raise LabError(f"no pod {pod!r}; the lab's pods: {', '.join(pods['name'])} "
                       "(labkit.views.seed(lab) applies the seed's)")
    return str(found["node"].iloc[0])


def cluster_ip(lab, name: str = "svc") -> str:
    """A service's ClusterIP (``kubectl get svc NAME``)."""
    services = lab.services()
    found = services[services["name"] == name]
    if found.empty:
        raise LabError(f"no service {name!r}; the lab's services: "
                       f"{', '.join(services['name'])} (labkit.views.seed(lab) applies svc)")
    return str(found["cluster_ip"].iloc[0])


def pod_command(lab, pod: str, *args: str, timeout: float = 10.0) -> pd.DataFrame:
    """Runs a command in a pod and parses what it prints (``ip -j neigh``, ``route -n``...);
    the DataFrame's ``attrs["raw"]`` keeps the text."""
    result = lab.exec(pod, list(args), timeout=timeout, check=True)
    return parse(shlex.join(args), result.stdout)


# ---- a node (chapter 03) ------------------------------------------------------------------

def node_tables(lab, node: str) -> dict:
    """What ``labkit.plots.node_diagram`` draws: the node's ``ip -j addr`` and ``ip -j route``,
    the pods, and the node's name."""
    agent = lab.agent(node)
    return {"addrs": agent.command("ip", "-j", "addr"),
            "routes": agent.command("ip", "-j", "route"), "pods": lab.pods(), "node": node}


def proxy_arp(lab, node: str) -> pd.DataFrame:
    """proxy_arp of every interface of a node (``grep . /proc/sys/net/ipv4/conf/*/proxy_arp``):
    interface, proxy_arp."""
    out = lab.node(node).run("grep -H . /proc/sys/net/ipv4/conf/*/proxy_arp", shell=True,
                             check=True).stdout
    return proxy_arp_table(out)


def proxy_arp_table(text: str) -> pd.DataFrame:
    """``/proc/sys/net/ipv4/conf/IF/proxy_arp:0`` lines as interface, proxy_arp."""
    rows = []
    for line in text.splitlines():
        match = re.fullmatch(r"/proc/sys/net/ipv4/conf/([^/]+)/proxy_arp:(\d+)", line.strip())
        if not match:
            if line.strip():
                raise LabError(f"unexpected line from the proxy_arp files: {line!r}")
            continue
        rows.append({"interface": match[1], "proxy_arp": int(match[2])})
    table = pd.DataFrame(rows, columns=["interface", "proxy_arp"])
    table.attrs["raw"] = text
    return table


# ---- the agent's view joined with the pods (chapters 02 and 05) ------------------------------

def endpoints_with_pods(lab, node: str) -> pd.DataFrame:
    """``cilium endpoint list`` of a node with each endpoint's pod and its ipcache identity
    (``cilium bpf ipcache list``): does every table agree?"""
    agent = lab.agent(node)
    endpoints = agent.endpoint_list()[["endpoint_id", "identity", "ipv4", "status"]]
    ipcache = agent.bpf_ipcache_list()[["ip", "identity", "tunnel_endpoint"]]
    pods = lab.pods()[["name", "ip", "node"]]
    joined = endpoints.merge(pods, how="left", left_on="ipv4", right_on="ip").drop(columns="ip")
    joined = joined.merge(ipcache.rename(columns={"identity": "ipcache_identity"}),
                          how="left", left_on="ipv4", right_on="ip").drop(columns="ip")
    return joined.rename(columns={"name": "pod"})


def ipcache_of_pods(lab, node: str) -> pd.DataFrame:
    """The ipcache rows (seen from ``node``) of every pod: pod, ip, identity, and the node
    address packets for it are sent to (tunnel_endpoint)."""
    ipcache = lab.agent(node).bpf_ipcache_list()
    pods = lab.pods()[["name", "ip", "node"]].rename(columns={"name": "pod"})
    return pods.merge(ipcache[["ip", "prefix", "identity", "tunnel_endpoint"]], how="left",
                      on="ip")


def lxc_of(lab, pod: str) -> str | None:
    """The host side of a pod's veth: the device of the node's route to the pod's address."""
    routes = lab.agent(node_of(lab, pod)).command("ip", "-j", "route")
    route = route_to(routes, lab.pod_ip(pod))
    return str(route["dev"]) if route is not None else None


def gateway_and_lxc(lab, pod: str) -> pd.DataFrame:
    """The ARP trick of chapter 05 in one row: the pod's gateway, the MAC its neighbour table
    holds for it, and the MAC of the pod's lxc veth on the node (which has no address, and
    proxy_arp 0). Run some traffic from the pod first, so the neighbour entry exists."""
    node = node_of(lab, pod)
    ip = lab.pod_ip(pod)
    routes = pod_command(lab, pod, "ip", "-j", "route")
    default = routes[routes["dst"] == "default"]
    if default.empty:
        raise LabError(f"pod {pod} has no default route (ip route shows none)")
    gateway = str(default["gateway"].iloc[0])
    neigh = pod_command(lab, pod, "ip", "-j", "neigh")
    mine = neigh[neigh["ip"] == gateway]
    lxc = lxc_of(lab, pod)
    addrs = lab.agent(node).command("ip", "-j", "addr")
    link = addrs[addrs["ifname"] == lxc]
    arp = proxy_arp(lab, node).set_index("interface")["proxy_arp"]
    return pd.DataFrame([{
        "pod": pod, "pod_ip": ip, "gateway": gateway,
        "gateway_mac": str(mine["mac"].iloc[0]).lower() if len(mine) else None,
        "node": node, "lxc": lxc,
        "lxc_mac": str(link["mac"].iloc[0]).lower() if len(link) else None,
        "lxc_addresses": int(link["address"].notna().sum()),
        "lxc_proxy_arp": int(arp[lxc]) if lxc in arp.index else None,
    }])


# ---- traffic: request loops and captures (chapters 04, 07, 08) -------------------------------

def answers(lab, pod: str, url: str, count: int, batch: int = 10) -> Iterator[list[str]]:
    """Sends ``count`` requests from a pod with curl, ``batch`` per exec, and yields for each
    batch the backends that answered (the ``Hostname:`` line a whoami server returns)."""
    left = count
    while left > 0:
        n = min(batch, left)
        loop = (f"for i in $(seq {n}); do curl -s -m 2 {shlex.quote(url)} "
                "| grep -m1 '^Hostname:' || echo 'Hostname: (no answer)'; done")
        out = lab.exec(pod, loop, shell=True, timeout=5.0 + 3.0 * n).stdout
        yield [line.split(":", 1)[1].strip() for line in out.splitlines()
               if line.startswith("Hostname:")]
        left -= n


def counts_series(seen: Counter) -> pd.Series:
    """Counts by backend, sorted by name, as a Series named ``requests``."""
    series = pd.Series(dict(sorted(seen.items())), dtype="int64", name="requests")
    series.index.name = "backend"
    return series


#: what tcpdump (on stderr) and ngrep (on stdout) print once they capture
CAPTURING = "listening on|^filter:"


def capture(lab, pod: str, command: str, during: str, ready: str = CAPTURING) -> str:
    """Runs a capture (tcpdump, ngrep) in a pod while ``during`` runs there, as a learner does
    with two terminals: ``during`` starts once the capture prints ``ready`` (a grep -E
    pattern), or after 5 s. Returns what the capture printed on its standard output."""
    script = (f'out=$(mktemp); err=$(mktemp); {command} >"$out" 2>"$err" & P=$!; i=0; '
              f'until cat "$out" "$err" | grep -qE {shlex.quote(ready)} || [ $i -ge 100 ]; '
              f'do sleep 0.05; i=$((i+1)); done; {during} >/dev/null 2>&1; sleep 0.2; '
              'kill $P; wait $P; cat "$out"; rm -f "$out" "$err"')
    return lab.exec(pod, script, shell=True, timeout=20.0).stdout


def asked_vs_got(calls: pd.DataFrame, flows: pd.DataFrame) -> pd.DataFrame:
    """For each connect() an strace shows: the address the program asked for, what
    getsockname()/getpeername() told it, and the address its packets really went to (the
    flow from the same local port). ``calls`` is ``labkit.parsers.socket_calls(...)``,
    ``flows`` the pod's flows (``lab.observe(pod=...)``)."""
    rows = []
    inet = calls[calls["family"] == "AF_INET"]
    for call in inet[inet["syscall"] == "connect"].to_dict("records"):
        same = inet[(inet["fd"] == call["fd"]) & (inet["line"] > call["line"])]
        if pd.notna(call["pid"]):
            same = same[same["pid"] == call["pid"]]
        name = same[same["syscall"] == "getsockname"].head(1)
        peer = same[same["syscall"] == "getpeername"].head(1)
        local_ip = name["ip"].iloc[0] if len(name) else None
        local_port = name["port"].iloc[0] if len(name) else None
        wire = flows[(flows["source_port"] == local_port) & (flows["source_ip"] == local_ip)
                     & ~flows["is_reply"].fillna(False).astype(bool)] if local_port else flows[:0]
        rows.append({
            "asked_ip": call["ip"], "asked_port": call["port"],
            "getpeername_ip": peer["ip"].iloc[0] if len(peer) else None,
            "local_ip": local_ip, "local_port": local_port,
            "wire_ip": wire["destination_ip"].iloc[0] if len(wire) else None,
            "wire_port": wire["destination_port"].iloc[0] if len(wire) else None,
            "wire_pod": wire["destination_pod"].iloc[0] if len(wire) else None,
        })
    columns = ["asked_ip", "asked_port", "getpeername_ip", "local_ip", "local_port",
               "wire_ip", "wire_port", "wire_pod"]
    return pd.DataFrame(rows, columns=columns)


# ---- programs and maps (chapters 02 and 06) ----------------------------------------------------

def map_fill(map_list: pd.DataFrame, bpftool_maps: pd.DataFrame) -> pd.DataFrame:
    """``cilium map list`` (entries) joined with ``bpftool map list`` (max_entries): name,
    entries, max_entries, fill. bpftool cuts names at 15 characters; a map's pinned path
    (``bpftool -f``) gives its full name where two cut names clash."""
    maxima: dict[str, int] = {}
    for row in bpftool_maps.to_dict("records"):
        pinned = row.get("pinned")
        names = [p.rsplit("/", 1)[-1] for p in pinned] if isinstance(pinned, list) else []
        for name in names or [row["name"]]:
            maxima.setdefault(str(name), int(row["max_entries"]))
    rows = []
    for row in map_list.to_dict("records"):
        name = str(row["name"])
        cut = [v for k, v in maxima.items() if len(k) == 15 and name.startswith(k)]
        most = maxima.get(name, cut[0] if len(set(cut)) == 1 else None)
        rows.append({"name": name, "entries": int(row["entries"]), "max_entries": most})
    table = pd.DataFrame(rows, columns=["name", "entries", "max_entries"])
    table = table.dropna(subset=["max_entries"]).astype({"max_entries": "int64"})
    table["fill"] = table["entries"] / table["max_entries"]
    return table.reset_index(drop=True)


def programs_per_interface(net_show: pd.DataFrame, programs: pd.DataFrame) -> pd.DataFrame:
    """``bpftool net show`` joined with ``bpftool prog show``: which program runs where
    (interface, hook), its type, tag, sizes and maps."""
    details = programs[["id", "type", "tag", "bytes_xlated", "bytes_jited", "map_ids"]]
    joined = net_show.merge(details, how="left", left_on="prog_id", right_on="id")
    return joined.drop(columns=["id"])


# ---- Hubble (chapter 04) ----------------------------------------------------------------------

def hubble_filter(flows: pd.DataFrame, *, pod: str | None = None,
                  namespace: str | None = None, protocol: str | None = None,
                  verdict: str | None = None, http_method: str | None = None,
                  http_path: str | None = None) -> pd.DataFrame:
    """The flows ``hubble observe`` prints with these flags (``--pod``, ``--namespace``,
    ``--protocol``, ``--verdict``, ``--http-method``, ``--http-path``), from a flow table."""
    keep = pd.Series(True, index=flows.index)
    if pod is not None:
        keep &= (flows["source_pod"] == pod) | (flows["destination_pod"] == pod)
    if namespace is not None:
        keep &= ((flows["source_namespace"] == namespace)
                 | (flows["destination_namespace"] == namespace))
    if protocol is not None:
        wanted = protocol.lower()
        by_l7 = flows["l7_type"].fillna("").str.lower().str.startswith(wanted)
        keep &= (flows["protocol"].fillna("").str.lower() == wanted) | by_l7 | (
            (wanted == "http") & flows["http_method"].notna())
    if verdict is not None:
        keep &= flows["verdict"] == verdict.upper()
    if http_method is not None:
        keep &= flows["http_method"].fillna("").str.upper() == http_method.upper()
    if http_path is not None:
        paths = flows["http_url"].fillna("").map(_url_path)
        keep &= paths.str.fullmatch(http_path)
    return flows[keep.fillna(False).astype(bool)].reset_index(drop=True)


def _url_path(url: str) -> str:
    match = re.match(r"^[a-z]+://[^/]*(/[^?#]*)?", url)
    return (match[1] or "/") if match else url


# ---- a lab that cannot do something ----------------------------------------------------------

def or_note(call: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """The table ``call`` returns or, where this lab cannot give it (the local lab has no
    NAT map, say), a one-row table with the lab's own sentence saying why."""
    try:
        return call()
    except LabkitError as e:
        return pd.DataFrame({"not on this lab": [str(e)]})


def in_network(ip: str, cidr: str) -> bool:
    """Whether an address is inside a CIDR (ipv4NativeRoutingCIDR, a pod CIDR...)."""
    return ipaddress.ip_address(ip) in ipaddress.ip_network(cidr, strict=False)
