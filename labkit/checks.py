"""The claims of each chapter as checks a notebook runs on what the lab showed.

A check takes the DataFrames (or results) a notebook already has and either returns a short
``Passed`` line saying what holds, or raises ``CheckFailed`` naming what was expected, what
was seen and what to look at. Each check is tested by breaking its condition on purpose:
a check that cannot fail teaches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import NoReturn

import pandas as pd

from labkit.errors import LabkitError


class CheckFailed(LabkitError, AssertionError):
    """A chapter's claim does not hold on this lab: expected, seen, and what to look at."""

    def __init__(self, claim: str, *, expected: str, seen: str, look_at: str) -> None:
        self.claim, self.expected, self.seen, self.look_at = claim, expected, seen, look_at
        super().__init__(f"{claim}\n  expected: {expected}\n  seen:     {seen}\n"
                         f"  look at:  {look_at}")


class Passed(str):
    """What a check found to hold; shows as a plain line in a notebook."""

    def __repr__(self) -> str:
        return f"OK: {self}"


def _fail(claim: str, expected: str, seen: str, look_at: str) -> NoReturn:
    raise CheckFailed(claim, expected=expected, seen=seen, look_at=look_at)


def _listed(values: Iterable, most: int = 8) -> str:
    items = [str(v) for v in values]
    if not items:
        return "nothing"
    more = f" (+{len(items) - most} more)" if len(items) > most else ""
    return ", ".join(items[:most]) + more


# ---- 00: the lab and its prerequisites ----------------------------------------------------------

def no_kube_proxy(pods: pd.DataFrame) -> Passed:
    """No kube-proxy pod anywhere (``kubectl get pod -A``): Cilium will replace it."""
    found = pods[pods["name"].astype(str).str.startswith("kube-proxy")]
    if len(found):
        _fail("kube-proxy runs, so Cilium would not be the only one handling Services",
              "no kube-proxy pod in kube-system", _listed(found["name"]),
              "the cluster was made without kube-proxy (kubeadm init "
              "--skip-phases=addon/kube-proxy); `kubectl -n kube-system get ds kube-proxy`")
    return Passed(f"no kube-proxy among {len(pods)} pods")


def kernel_at_least(release: str, minimum: tuple[int, int] = (5, 8)) -> Passed:
    """The kernel (``uname -r``) is recent enough for Cilium (5.8 or newer for 1.16)."""
    match = re.match(r"(\d+)\.(\d+)", str(release))
    want = ".".join(map(str, minimum))
    if not match:
        _fail("the kernel version cannot be read", f"a release such as {want}.0",
              repr(release), "`uname -r` on the node")
    have = (int(match[1]), int(match[2]))
    if have < minimum:
        _fail(f"kernel {release} is older than Cilium needs", f"kernel >= {want}", release,
              "upgrade the node's kernel (Ubuntu 22.04 HWE has 6.x); "
              "https://docs.cilium.io/en/stable/operations/system_requirements/")
    return Passed(f"kernel {release} >= {want}")


def nodes_ready(nodes: pd.DataFrame) -> Passed:
    """Every node is Ready (after a CNI is installed; NotReady before)."""
    bad = nodes[nodes["status"] != "Ready"]
    if nodes.empty or len(bad):
        _fail("not every node is Ready", "every node Ready",
              _listed(f"{n} {s}" for n, s in zip(bad["name"], bad["status"], strict=True)),
              "`kubectl describe node NAME` (NotReady before a CNI: the network is not ready)")
    return Passed(f"{len(nodes)} nodes Ready: {_listed(nodes['name'])}")


# ---- 01: what the installation set --------------------------------------------------------------

def config_says(config: pd.DataFrame, key: str, value: str) -> Passed:
    """The agent's configuration (``cilium config view``) holds ``key = value``."""
    found = config[config["key"] == key]
    seen = str(found["value"].iloc[0]) if len(found) else "no such key"
    if seen.lower() != value.lower():
        _fail(f"the agent's {key} is not {value}", f"{key} = {value}", seen,
              "`cilium config view | grep " + key + "` and the Helm value that sets it")
    return Passed(f"{key} = {seen}")


def socket_lb_enabled(status: pd.DataFrame) -> Passed:
    """``cilium status --verbose``: KubeProxyReplacement Details says Socket LB: Enabled."""
    rows = status[(status["section"].fillna("").str.contains("KubeProxyReplacement Details"))
                  & (status["key"] == "Socket LB")]
    seen = str(rows["value"].iloc[0]) if len(rows) else "no Socket LB line"
    if not seen.startswith("Enabled"):
        _fail("socket load balancing is not enabled", "Socket LB: Enabled", seen,
              "`cilium status --verbose` (KubeProxyReplacement Details); Helm "
              "kubeProxyReplacement=true")
    return Passed("Socket LB: Enabled")


# ---- 02: the agent's view -----------------------------------------------------------------------

def every_pod_is_an_endpoint(endpoints: pd.DataFrame, pods: pd.DataFrame, node: str) -> Passed:
    """Each pod of ``node`` is in that node's ``cilium endpoint list`` (``ipv4`` column)."""
    wanted = pods[pods["node"] == node]
    missing = sorted(set(wanted["ip"]) - set(endpoints["ipv4"]))
    if missing:
        _fail(f"pods of {node} missing from its endpoint list",
              f"an endpoint for each of {_listed(wanted['name'])}",
              f"no endpoint for {_listed(missing)}",
              f"`cilium endpoint list` in the agent on {node}; is the pod Running?")
    return Passed(f"{len(wanted)} pods of {node} are endpoints")


def identities_agree(joined: pd.DataFrame) -> Passed:
    """An endpoint's identity (endpoint list) is the one the ipcache holds for its address."""
    bad = joined[joined["identity"] != joined["ipcache_identity"]]
    if len(bad) or joined.empty:
        _fail("the endpoint list and the ipcache disagree on identities",
              "the same identity in both tables for every endpoint",
              "no endpoints" if joined.empty else _listed(
                  f"{ip}: {a} vs {b}" for ip, a, b in zip(
                      bad["ipv4"], bad["identity"], bad["ipcache_identity"], strict=True)),
              "`cilium endpoint list` beside `cilium bpf ipcache list`")
    return Passed(f"{len(joined)} endpoints: identity = ipcache identity")


def ipcache_knows_pods(rows: pd.DataFrame) -> Passed:
    """Every pod address has an ipcache entry with an identity (``cilium bpf ipcache list``)."""
    missing = rows[rows["identity"].isna()]
    if len(missing) or rows.empty:
        _fail("pods missing from the ipcache", "an ipcache entry for every pod",
              "no pods" if rows.empty else f"none for {_listed(missing['pod'])}",
              "`cilium bpf ipcache list` (or `cilium map get cilium_ipcache | grep IP`)")
    return Passed(f"{len(rows)} pods in the ipcache: {_listed(rows['pod'])}")


# ---- 03: node networking ------------------------------------------------------------------------

def proxy_arp_off(table: pd.DataFrame) -> Passed:
    """proxy_arp is 0 on cilium_net, cilium_host and every lxc (``/proc/sys/.../proxy_arp``)."""
    ours = table[table["interface"].str.startswith(("lxc", "cilium_"))]
    if not ours["interface"].str.startswith("lxc").any():
        _fail("proxy_arp cannot be checked: no lxc interface", "lxc interfaces on the node",
              _listed(table["interface"]), "is a pod running on this node? `ip -br link`")
    on = ours[ours["proxy_arp"] != 0]
    if len(on):
        _fail("proxy_arp is on where Cilium leaves it off", "proxy_arp 0 on every lxc, "
              "cilium_host and cilium_net", f"proxy_arp 1 on {_listed(on['interface'])}",
              "cat /proc/sys/net/ipv4/conf/IFACE/proxy_arp; the ARP answer comes from eBPF, "
              "not from proxy ARP")
    return Passed(f"proxy_arp is 0 on {_listed(ours['interface'])}")


def veth_pair(addrs: pd.DataFrame, one: str = "cilium_host", other: str = "cilium_net") -> Passed:
    """``one`` and ``other`` are the two ends of one veth (``ip -br link``: one@other)."""
    links = addrs.drop_duplicates("ifname").set_index("ifname")
    seen = {n: (links.loc[n, "peer"] if n in links.index else "absent") for n in (one, other)}
    if seen[one] != other or seen[other] != one:
        _fail(f"{one} and {other} are not a veth pair", f"{one}@{other} and {other}@{one}",
              ", ".join(f"{n}@{p}" for n, p in seen.items()), "`ip -br link` on the node")
    return Passed(f"{one} and {other} are a veth pair")


def cilium_host_holds_gateway(addrs: pd.DataFrame, gateway: str | None = None) -> Passed:
    """cilium_host holds a /32: the router address the pods use as their gateway."""
    mine = addrs[(addrs["ifname"] == "cilium_host") & (addrs["family"] == "inet")]
    held = [f"{a}/{n}" for a, n in zip(mine["address"], mine["prefix_len"], strict=True)]
    ok = [h for h in held if h.endswith("/32") and (gateway is None or h == f"{gateway}/32")]
    if not ok:
        _fail("cilium_host does not hold the pods' gateway as a /32",
              f"{gateway or 'an address'}/32 on cilium_host", _listed(held),
              "`ip -c addr show cilium_host`; the pods' default route (`ip route` in a pod)")
    return Passed(f"cilium_host holds {ok[0]}")


def lxc_without_address(addrs: pd.DataFrame) -> Passed:
    """The host side of a pod's veth (lxc...) carries no IP address."""
    lxc = addrs[addrs["ifname"].str.startswith("lxc")]
    if lxc.empty:
        _fail("no lxc interface on this node", "an lxc veth per pod", "none",
              "is a pod running on this node? `ip -br link`")
    with_ip = lxc[lxc["family"] == "inet"]
    if len(with_ip):
        _fail("an lxc interface has an address", "no address on any lxc",
              _listed(f"{i} {a}" for i, a in zip(with_ip["ifname"], with_ip["address"],
                                                   strict=True)),
              "`ip -br addr`; Cilium routes to pods without addresses on the lxc side")
    return Passed(f"no address on {lxc['ifname'].nunique()} lxc interfaces")


# ---- 04: Hubble ---------------------------------------------------------------------------------

def flows_between(flows: pd.DataFrame, source: str, destination: str) -> Passed:
    """Hubble saw forwarded flows from pod ``source`` to pod ``destination``."""
    seen = flows[(flows["source_pod"] == source) & (flows["destination_pod"] == destination)
                 & (flows["verdict"] == "FORWARDED")]
    if seen.empty:
        pairs = flows[["source_pod", "destination_pod"]].dropna().drop_duplicates()
        _fail(f"no flow from {source} to {destination}",
              f"FORWARDED flows {source} -> {destination}",
              _listed(f"{a}->{b}" for a, b in pairs.itertuples(index=False)),
              f"send traffic again (curl from {source}), then `hubble observe --pod {source}`")
    return Passed(f"{len(seen)} flows {source} -> {destination}, FORWARDED")


# ---- 05: pod to pod -----------------------------------------------------------------------------

def gateway_mac_is_lxc_mac(row: pd.DataFrame | pd.Series) -> Passed:
    """The pod's neighbour entry for its gateway holds the MAC of its lxc veth, though the lxc
    has no address and proxy_arp 0: an eBPF program answered the ARP request."""
    r = row.iloc[0] if isinstance(row, pd.DataFrame) else row
    if not r["gateway_mac"]:
        _fail("the pod has no neighbour entry for its gateway yet",
              f"{r['gateway']} lladdr {r['lxc_mac']}", "no entry",
              f"ping something from {r['pod']} first, then `ip -c neigh` in it")
    if r["gateway_mac"] != r["lxc_mac"]:
        _fail("the gateway MAC is not the lxc's MAC",
              f"{r['gateway']} at {r['lxc_mac']} (the MAC of {r['lxc']} on {r['node']})",
              f"{r['gateway']} at {r['gateway_mac']}",
              f"`ip -c neigh` in {r['pod']} beside `ip -c link show {r['lxc']}` on {r['node']}")
    if r["lxc_addresses"] or r["lxc_proxy_arp"]:
        _fail("the lxc could have answered ARP by itself",
              f"no address and proxy_arp 0 on {r['lxc']}",
              f"{r['lxc_addresses']} addresses, proxy_arp {r['lxc_proxy_arp']}",
              f"`ip addr show {r['lxc']}` and its proxy_arp on {r['node']}")
    return Passed(f"{r['pod']}'s gateway {r['gateway']} is at {r['gateway_mac']}, the MAC of "
                  f"{r['lxc']} (no address, proxy_arp 0): answered by eBPF")


def succeeded(result, what: str) -> Passed:
    """A command run in a pod or on a node (ping, curl) exited 0."""
    if result.returncode != 0:
        _fail(f"{what} failed", "exit status 0", f"exit status {result.returncode}: "
              f"{(result.stderr or result.stdout or '').strip()[:200]}",
              f"run `{' '.join(map(str, result.args))}` by hand and read its message")
    return Passed(f"{what}: exit status 0")


def refused(result, what: str) -> Passed:
    """curl to a port nothing listens on is refused (curl's exit status 7), not dropped."""
    if result.returncode != 7:
        _fail(f"{what} was not refused", "curl exit status 7 (connection refused)",
              f"exit status {result.returncode}", "nothing should listen on that port; "
              "a time-out (28) would mean packets are dropped, not refused")
    return Passed(f"{what}: connection refused")


def routes_via(routes: pd.DataFrame, gateways: Sequence[str]) -> Passed:
    """The node routes the other nodes' pod CIDRs straight to those nodes' addresses
    (autoDirectNodeRoutes: no tunnel, no overlay): a route via each of ``gateways``."""
    via = {str(g): f"{d}/{int(p)}" if pd.notna(p) else str(d)
           for d, p, g in zip(routes["dst"], routes["prefix_len"], routes["gateway"],
                              strict=True) if pd.notna(g)}
    missing = [g for g in gateways if g not in via]
    if missing or not gateways:
        _fail("no direct route to another node's pods",
              f"a route via each of {_listed(gateways)}",
              f"routes via {_listed(f'{g} ({d})' for g, d in via.items())}",
              "`ip route` on the node; Helm autoDirectNodeRoutes=true installs them")
    return Passed(", ".join(f"{via[g]} via {g}" for g in gateways))


# ---- 06: programs and maps ----------------------------------------------------------------------

def programs_on_lxc(net_show: pd.DataFrame, lxc: str) -> Passed:
    """``bpftool net show``: cil_from_container on the lxc's ingress (packets from the pod),
    cil_to_container on its egress (packets to the pod)."""
    mine = net_show[net_show["devname"] == lxc]
    found = {str(k).rsplit("/", 1)[-1]: str(n) for k, n in
             zip(mine["kind"], mine["prog_name"], strict=True)}
    wanted = {"ingress": "cil_from_container", "egress": "cil_to_container"}
    wrong = {h: found.get(h) for h, p in wanted.items()
             if not str(found.get(h, "")).startswith(p)}
    if wrong:
        _fail(f"the endpoint programs are not on {lxc}",
              "ingress cil_from_container, egress cil_to_container",
              _listed(f"{h} {p}" for h, p in found.items()),
              f"`bpftool net show | grep {lxc}`")
    return Passed(f"{lxc}: ingress {found['ingress']}, egress {found['egress']}")


def program_uses_map(programs: pd.DataFrame, maps: pd.DataFrame, program: str,
                     map_name: str) -> Passed:
    """Program ``program`` (``bpftool prog show``) holds map ``map_name`` among its map_ids
    (bpftool cuts map names at 15 characters)."""
    ids = {int(i) for ids in programs[programs["name"] == program]["map_ids"]
           if isinstance(ids, list) for i in ids}
    names = {str(n) for i, n in zip(maps["id"], maps["name"], strict=True) if int(i) in ids}
    if not any(map_name.startswith(n) and len(n) >= min(len(map_name), 15) for n in names):
        _fail(f"{program} does not use {map_name}", f"{map_name} in {program}'s map_ids",
              _listed(sorted(names)) if ids else f"no program {program} (or no map_ids)",
              f"`bpftool prog show name {program}` and `bpftool map show id N`")
    return Passed(f"{program} uses {map_name}")


# ---- 07: services -------------------------------------------------------------------------------

def no_kube_svc_rules(rules: pd.DataFrame) -> Passed:
    """``iptables-save | grep KUBE-SVC`` finds nothing: no per-service iptables DNAT."""
    text = (rules["chain"].astype(str) + " " + rules["target"].astype(str) + " "
            + rules["rule"].astype(str))
    found = rules[text.str.contains("KUBE-SVC")]
    if len(found):
        _fail("KUBE-SVC rules exist: kube-proxy's iptables DNAT is in play",
              "no KUBE-SVC chain or jump",
              _listed(found["chain"].astype(str) + " -j " + found["target"].astype(str)),
              "`iptables-save | grep KUBE-SVC`; is kube-proxy running?")
    return Passed(f"no KUBE-SVC rules among {len(rules)} iptables lines")


def never_shows(capture: pd.DataFrame, ip: str, where: str = "tcpdump in netpod") -> Passed:
    """A capture (``tcpdump``) holds packets, and none to or from ``ip``: the socket LB put the
    backend's address in the socket before any packet existed."""
    if capture.empty:
        _fail(f"{where} captured nothing, so it proves nothing", "packets of the request",
              "no packets", "run the capture again while curl runs")
    hits = capture[(capture["src_ip"] == ip) | (capture["dst_ip"] == ip)]
    if len(hits):
        _fail(f"{where} shows the ClusterIP {ip}", f"no packet to or from {ip}",
              f"{len(hits)} packets with {ip}",
              "`cilium status --verbose` (Socket LB); is the client in the lab's cgroup?")
    peers = sorted(set(capture["src_ip"]) | set(capture["dst_ip"]))
    return Passed(f"{where} never shows {ip} in {len(capture)} packets (only {_listed(peers)})")


def host_header_keeps(ngrep: pd.DataFrame, ip: str) -> Passed:
    """``ngrep``: the HTTP request still says ``Host: <ClusterIP>``; only the packet's
    address changed."""
    requests = ngrep[ngrep["http_request_line"].notna()]
    hosts = requests["http_host"].fillna("").astype(str).str.rstrip(".")
    if not (hosts == ip).any():
        _fail("no request carried the service address in its Host header",
              f"Host: {ip}", _listed(sorted(set(hosts))) if len(hosts) else "no HTTP request",
              "run ngrep again while curl runs against the ClusterIP")
    dst = requests[hosts == ip]["dst_ip"]
    return Passed(f"Host: {ip} while the request went to {_listed(sorted(set(dst)))}")


def spread_over(counts: pd.Series, backends: Iterable[str]) -> Passed:
    """Every backend answered some of the requests (random backend selection)."""
    wanted = sorted(backends)
    silent = [b for b in wanted if counts.get(b, 0) == 0]
    strangers = sorted(set(counts.index) - set(wanted))
    if silent or strangers or not wanted:
        _fail("the requests did not spread over the backends",
              f"answers from each of {_listed(wanted)}",
              ", ".join(f"{k}: {v}" for k, v in counts.items()) or "no answers",
              "`cilium service list` (are all backends active?) and `kubectl get ep`")
    return Passed(", ".join(f"{k}: {v}" for k, v in counts.items()))


# ---- 08: strace ---------------------------------------------------------------------------------

def connect_asked_for_service(asked: pd.DataFrame, service_ip: str) -> Passed:
    """strace: connect() asked for the service address, and the packets went to a backend
    (a pod address), not to the service."""
    mine = asked[asked["asked_ip"] == service_ip]
    if mine.empty:
        _fail(f"no connect() to the service {service_ip}", f"connect(... {service_ip} ...)",
              _listed(asked["asked_ip"]), "`strace -e trace=connect curl -s SERVICE_IP`")
    wire = mine["wire_ip"].dropna()
    if wire.empty or (wire == service_ip).any():
        _fail("the packets' real destination is not a backend",
              f"a backend address, not {service_ip}, in the flows from the same port",
              _listed(wire) if len(wire) else "no flow for that connection",
              "`hubble observe --pod netpod` while running the strace again")
    row = mine.iloc[0]
    return Passed(f"connect() asked for {service_ip}:{row['asked_port']}; the packets went to "
                  f"{row['wire_ip']}:{row['wire_port']} ({row['wire_pod']})")


# ---- 09: cleanup --------------------------------------------------------------------------------

def nothing_left(residue: Sequence[str]) -> Passed:
    """``labkit down`` left nothing of the lab on the machine (the residue check)."""
    if residue:
        _fail("the lab left something behind", "no namespaces, links, cgroups, mounts or "
              "pinned programs of the lab", _listed(residue),
              "a program still loaded is held open by a process: shut down the other "
              "notebooks' kernels (each holds the lab's programs), then `sudo labkit down` "
              "again; `ip netns list`, `bpftool prog show`, `mount | grep labkit`")
    return Passed("nothing of the lab is left on the machine")


def no_pods(pods: pd.DataFrame) -> Passed:
    """``kubectl get pod`` lists nothing after ``kubectl delete pod --all``."""
    if len(pods):
        _fail("pods are still there", "no pods", _listed(pods["name"]),
              "`kubectl delete pod --all` and wait for them to terminate")
    return Passed("no pods left")


# ---- 10: socket LB against kube-proxy's iptables DNAT ---------------------------------------

def socket_lb_close_to_direct(summary: pd.DataFrame, tolerance: float = 0.10) -> Passed:
    """The socket LB translates once per connection: through it, a request costs about what
    it costs to the pod IP directly, whatever the number of services (labkit.local.compare
    summary: services, path, latency_ratio)."""
    rows = summary[summary["path"] == "ClusterIP via socket LB"]
    worst = rows.loc[rows["latency_ratio"].idxmax()]
    if worst["latency_ratio"] > 1 + tolerance:
        _fail("through the socket LB a request costs more than going to the pod directly",
              f"a latency ratio to the direct path within {1 + tolerance:.2f}",
              f"{worst['latency_ratio']:.2f} at {worst['services']} services",
              "a busy machine skews short measurements: rerun with more requests, and "
              "check `lab.kube_proxy()` says 'none' (socket LB attached)")
    return Passed(f"socket LB within {tolerance:.0%} of direct at every count "
                  f"(worst {worst['latency_ratio']:.2f})")


def iptables_cost_grows(summary: pd.DataFrame) -> Passed:
    """kube-proxy's rules grow with the services: installing them takes longer, and at the
    largest count a request through them costs more than through the socket LB."""
    rows = summary[summary["path"] == "ClusterIP via iptables"].sort_values("services")
    install = dict(zip(rows["services"], rows["install_s"], strict=True))
    times = list(install.values())
    if any(later <= earlier for earlier, later in zip(times, times[1:], strict=False)):
        _fail("installing kube-proxy's rules did not take longer with more services",
              "iptables-restore time growing with the services",
              ", ".join(f"{n}: {t:.3f} s" for n, t in install.items()),
              "the nat table of a node (`iptables-save -t nat | grep -c KUBE-SEP`)")
    largest = rows["services"].max()
    at = summary[summary["services"] == largest].set_index("path")["latency_ratio"]
    via_iptables, via_socket = at["ClusterIP via iptables"], at["ClusterIP via socket LB"]
    if via_iptables <= via_socket:
        _fail(f"at {largest} services iptables DNAT cost no more than the socket LB",
              "a higher latency ratio through iptables than through the socket LB",
              f"{via_iptables:.2f} (iptables) against {via_socket:.2f} (socket LB)",
              "measure more services: KUBE-SERVICES is walked rule by rule")
    return Passed(f"iptables cost grows with the services (install {times[0]:.3f} s -> "
                  f"{times[-1]:.3f} s; at {largest}: {via_iptables:.2f}x vs "
                  f"{via_socket:.2f}x through the socket LB)")
