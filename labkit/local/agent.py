"""The local lab's stand-in for a node's Cilium agent.

`cilium ...` commands are answered from the kernel objects themselves - the pinned maps
the lab's programs use - printed in Cilium 1.16's text format and read back by the same
parsers as a real agent's output. So ``df.attrs["raw"]`` shows a learner what
``kubectl exec ... -- cilium ...`` would print on a node, and the columns match the
cluster lab's. `bpftool`, `ip` and `iptables-save` run for real in the node's namespace.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence
from subprocess import CompletedProcess

import pandas as pd

from labkit.agent import Agent
from labkit.ebpf import links
from labkit.errors import LabError
from labkit.local import datapath, state
from labkit.local.topology import BPF_PIN_DIR, CGROUP_MOUNT, NODES, SERVICE_CIDR, Machine
from labkit.parsers import parse

RESERVED_LABELS = {1: "reserved:host", 2: "reserved:world", 4: "reserved:health",
                   6: "reserved:remote-node"}


class NotOnThisLab(LabError):
    """What a real agent has and the local lab's datapath does not."""


def _table(header: Sequence[str], rows: list[Sequence[str]], gap: int = 3) -> str:
    """Columns padded like Go's tabwriter, as the cilium CLI prints them."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=True)]
    lines = ["".join(str(c).ljust(w + gap) for c, w in zip(r, widths, strict=True)).rstrip()
             for r in [header, *rows]]
    return "\n".join(lines) + "\n"


class LocalAgent(Agent):
    """The agent's view of one node of the local lab."""

    cilium_program = "cilium"

    def __init__(self, lab, node: Machine) -> None:
        super().__init__(node.name)
        self._lab = lab
        self._machine = node
        self._node_id = datapath.node_id(node.name)

    def run(self, command: Sequence[str], *, timeout: float = 30.0,
            check: bool = True) -> CompletedProcess:
        """Runs a command on the node (its network namespace), as the agent pod would."""
        return self._lab.node(self.node).run(list(command), timeout=timeout, check=check)

    # --- cilium, answered from the maps -----------------------------------------------
    def cilium(self, *args: str) -> pd.DataFrame:
        words = [a for a in args if not a.startswith("-")]
        key = " ".join(words[:3])
        printers = {
            "status": self._status, "config": self._config, "endpoint list": self._endpoint_list,
            "bpf endpoint list": self._bpf_endpoint_list, "ip list": self._ip_list,
            "bpf ipcache list": self._ipcache_list, "service list": self._service_list,
            "bpf lb list": lambda: self._lb_list("--revnat" in args), "map list": self._map_list,
        }
        for prefix, printer in sorted(printers.items(), key=lambda kv: -len(kv[0])):
            if key.startswith(prefix):
                return self._parsed(["cilium", *args], printer())
        if words[:2] == ["map", "get"] and len(words) > 2:
            return self._parsed(["cilium", *args], self._map_get(words[2]))
        if words[:2] == ["bpf", "nat"] or words[:2] == ["bpf", "ct"]:
            raise NotOnThisLab(
                "the local lab's datapath keeps no NAT or connection-tracking map (it routes "
                "natively and translates services at the socket): `cilium bpf nat list` and "
                "`cilium bpf ct list` have something to show on a cluster only")
        raise NotOnThisLab(f"the local lab does not answer `cilium {shlex.join(args)}`; it "
                           "answers status, config, endpoint list, bpf endpoint list, ip list, "
                           "bpf ipcache list, service list, bpf lb list, map list, map get")

    def bpftool_cgroup_tree(self, path: str | None = None) -> pd.DataFrame:
        """`bpftool cgroup tree /run/labkit/cgroupv2`: the socket-LB programs on the lab's
        cgroup (Cilium's is /run/cilium/cgroupv2)."""
        return super().bpftool_cgroup_tree(path or str(CGROUP_MOUNT))

    def _parsed(self, argv: list[str], text: str) -> pd.DataFrame:
        return parse(shlex.join(argv), text)

    # --- the texts ---------------------------------------------------------------------
    def _dp(self) -> datapath.Datapath:
        return datapath.handle(state.read()["created"])

    def _own(self, row: dict) -> bool:
        return row["node_id"] == self._node_id

    def _pods_by_ip(self) -> dict[str, dict]:
        return {p["ip"]: p for p in state.read()["pods"].values()}

    def _status(self) -> str:
        m = self._machine
        own = [e for e in self._dp().endpoints.endpoints() if self._own(e)]
        pods = self._pods_by_ip()
        services = {r["rev_nat_index"] for r in self._dp().lb.services()}
        lines = [
            "KVStore:                 Disabled",
            "Kubernetes:              Ok   labkit local lab (no API server; pods from YAML)",
            f"KubeProxyReplacement:    True   [ens5   {m.address} (Direct Routing)]",
            "Host firewall:           Disabled",
            "SRv6:                    Disabled",
            "CNI Chaining:            none",
            "Cilium:                  Ok   labkit's eBPF datapath modelled on Cilium's "
            "(not Cilium)",
            "NodeMonitor:             Listening for events on the lab's ring buffer",
            f"IPAM:                    IPv4: {len(own) + 1}/254 allocated from {m.pod_cidr}, ",
            "Allocated addresses:",
            f"  {m.router_ip} (router)",
        ]
        for e in own:
            pod = pods.get(e["ip"])
            owner = f"{pod['namespace']}/{pod['name']}" if pod else "health"
            lines.append(f"  {e['ip']} ({owner})")
        lines += [
            "Routing:                 Network: Native   Host: Legacy",
            "Attach Mode:             " + ("TCX" if datapath_links_tcx() else "Legacy TC"),
            "Device Mode:             veth",
            "Masquerading:            Disabled",
            "Controller Status:       0/0 healthy",
            "Proxy Status:            No managed proxy redirect",
            "Hubble:                  Ok   labkit flows from the lxc programs",
            "KubeProxyReplacement Details:",
            "  Status:                 True",
            "  Socket LB:              Enabled",
            "  Socket LB Tracing:      Enabled",
            "  Socket LB Coverage:     Full",
            f"  Devices:                ens5   {m.address} (Direct Routing)",
            "  Mode:                   SNAT",
            "  Backend Selection:      Random",
            "  Session Affinity:       Disabled",
            "  Graceful Termination:   Disabled",
            "  NAT46/64 Support:       Disabled",
            "  XDP Acceleration:       Disabled",
            "  Services:",
            "  - ClusterIP:      Enabled",
            "  - NodePort:       Disabled",
            "  - LoadBalancer:   Disabled",
            "  - externalIPs:    Disabled",
            "  - HostPort:       Disabled",
            "BPF Maps:   dynamic sizing: off",
            "Encryption:              Disabled",
            f"Cluster health:          {len(NODES)}/{len(NODES)} reachable",
            f"Services:                {len(services)} in cilium_lb4_services_v2",
        ]
        return "\n".join(lines) + "\n"

    def _config(self) -> str:
        m = self._machine
        values = {
            "bpf-lb-sock": "true", "bpf-lb-sock-hostns-only": "false",
            "bpf-root": str(BPF_PIN_DIR), "cgroup-root": str(CGROUP_MOUNT),
            "cluster-name": "labkit", "datapath-mode": "veth", "enable-bpf-masquerade": "false",
            "enable-endpoint-routes": "true", "enable-ipv4": "true", "enable-ipv6": "false",
            "enable-socket-lb-tracing": "true", "ipam": "kubernetes",
            "ipv4-native-routing-cidr": "192.168.0.0/16", "ipv4-range": m.pod_cidr,
            "ipv4-service-range": str(SERVICE_CIDR), "kube-proxy-replacement": "true",
            "auto-direct-node-routes": "true", "routing-mode": "native",
        }
        return "".join(f"{k:<47}{v}\n" for k, v in sorted(values.items()))

    def _endpoint_list(self) -> str:
        pods = self._pods_by_ip()
        header = ("ENDPOINT   POLICY (ingress)   POLICY (egress)   IDENTITY   "
                  "LABELS (source:key[=value])                       IPv6   IPv4           STATUS\n"
                  "           ENFORCEMENT        ENFORCEMENT\n")
        rows = []
        for e in self._dp().endpoints.endpoints():
            if not self._own(e):
                continue
            pod = pods.get(e["ip"])
            labels = ([f"k8s:{k}={v}" for k, v in sorted(pod["labels"].items())]
                      + [f"k8s:io.kubernetes.pod.namespace={pod['namespace']}"]
                      if pod else [RESERVED_LABELS.get(e["identity"], "reserved:health")])
            first = (f"{e['endpoint_id']:<11}{'Disabled':<19}{'Disabled':<18}"
                     f"{e['identity']:<11}{labels[0]:<50}{'':<7}{e['ip']:<15}ready")
            rows.append(first)
            rows += [" " * 59 + label for label in labels[1:]]
        return header + "\n".join(rows) + ("\n" if rows else "")

    def _bpf_endpoint_list(self) -> str:
        rows = [[f"{ip}:0", "(localhost)"] for ip in (self._machine.address,
                                                      self._machine.router_ip)]
        for e in self._dp().endpoints.endpoints():
            if self._own(e):
                rows.append([f"{e['ip']}:0",
                             f"id={e['endpoint_id']:<5} sec_id={e['identity']:<5} flags=0x0000 "
                             f"ifindex={e['ifindex']:<3} mac={e['mac']} nodemac={e['node_mac']} "
                             "parent_ifindex=0"])
        return _table(["IP ADDRESS", "LOCAL ENDPOINT INFO"], rows)

    def _ipcache_rows(self) -> list[dict]:
        rows = []
        for r in self._dp().endpoints.ipcache():
            identity = r["identity"]
            host_ips = {f"{self._machine.address}/32", f"{self._machine.router_ip}/32"}
            if r["prefix"] in host_ips:
                identity = 1
            rows.append({**r, "identity": identity})
        return rows

    def _ipcache_list(self) -> str:
        rows = [[r["prefix"], f"identity={r['identity']} encryptkey=0 "
                              f"tunnelendpoint={r['tunnel_endpoint']} flags=<none>"]
                for r in self._ipcache_rows()]
        return _table(["IP PREFIX/ADDRESS", "IDENTITY"], rows)

    def _ip_list(self) -> str:
        rows = [[r["prefix"], str(r["identity"]),
                 "k8s" if r["identity"] >= datapath.FIRST_POD_IDENTITY else ""]
                for r in self._ipcache_rows()]
        return _table(["IP", "IDENTITY", "SOURCE"], rows)

    def _frontends(self) -> dict[int, dict]:
        dp = self._dp()
        backends = dp.lb.backends()
        services: dict[int, dict] = {}
        for r in dp.lb.services():
            svc = services.setdefault(r["rev_nat_index"], {"backends": []})
            if r["slot"] == 0:
                svc.update(ip=r["ip"], port=r["port"], protocol=r["protocol"])
            elif r["backend_id"] in backends:
                svc["backends"].append((r["backend_id"], backends[r["backend_id"]]))
        return {k: v for k, v in services.items() if "ip" in v}

    def _service_list(self) -> str:
        rows = []
        for revnat, svc in sorted(self._frontends().items()):
            frontend = f"{svc['ip']}:{svc['port']}"
            backs = [f"{bid} => {b['ip']}:{b['port']} (active)" for bid, b in svc["backends"]]
            rows.append([str(revnat), frontend, "ClusterIP", backs[0] if backs else ""])
            rows += [["", "", "", b] for b in backs[1:]]
        return _table(["ID", "Frontend", "Service Type", "Backend"], rows)

    def _lb_list(self, revnat: bool) -> str:
        frontends = self._frontends()
        if revnat:
            rows = [[str(k), f"{v['ip']}:{v['port']}"] for k, v in sorted(frontends.items())]
            return _table(["ID", "BACKEND ADDRESS (REVNAT_ID) (SLOT)"], rows)
        rows = []
        for revnat_id, svc in sorted(frontends.items()):
            rows.append([f"{svc['ip']}:{svc['port']}",
                         f"0.0.0.0:0 ({revnat_id}) [ClusterIP, non-routable]"])
            rows += [["", f"{b['ip']}:{b['port']} ({revnat_id})"] for _, b in svc["backends"]]
        return _table(["SERVICE ADDRESS", "BACKEND ADDRESS"], rows)

    def _map_list(self) -> str:
        dp = self._dp()
        counts = {**dp.endpoints.entry_counts(), **dp.lb.entry_counts()}
        rows = [[name, str(n), "0", "true"] for name, n in sorted(counts.items())]
        return _table(["Name", "Num entries", "Num errors", "Cache enabled"], rows)

    def _map_get(self, name: str) -> str:
        dp = self._dp()
        header = ["Key", "Value", "State", "Error"]
        if name == "cilium_lxc":
            rows = [[f"{e['ip']}:0", f"id={e['endpoint_id']} sec_id={e['identity']} "
                     f"flags=0x0000 ifindex={e['ifindex']} mac={e['mac']} "
                     f"nodemac={e['node_mac']} parent_ifindex=0", "sync", ""]
                    for e in dp.endpoints.endpoints() if self._own(e)]
        elif name == "cilium_ipcache":
            rows = [[r["prefix"], f"identity={r['identity']} encryptkey=0 "
                     f"tunnelendpoint={r['tunnel_endpoint']} flags=<none>", "sync", ""]
                    for r in self._ipcache_rows()]
        elif name == "cilium_lb4_services_v2":
            rows = [[f"{r['ip']}:{r['port']} ({r['slot']})",
                     f"{r['backend_id']} {r['count']}[0] ({r['rev_nat_index']}) [0x0 0x0]",
                     "sync", ""] for r in dp.lb.services()]
        elif name == "cilium_lb4_backends_v3":
            rows = [[str(bid), f"{b['protocol']}://{b['ip']}", "sync", ""]
                    for bid, b in sorted(dp.lb.backends().items())]
        elif name == "cilium_lb4_reverse_nat":
            rows = [[str(k), f"{ip}:{port}", "sync", ""]
                    for k, (ip, port) in sorted(dp.lb.reverse_nat().items())]
        else:
            known = "cilium_lxc, cilium_ipcache, cilium_lb4_services_v2, " \
                    "cilium_lb4_backends_v3, cilium_lb4_reverse_nat"
            raise NotOnThisLab(f"the local lab has no map {name!r} to show; it shows {known}")
        return _table(header, rows)


def datapath_links_tcx() -> bool:
    return links.tcx_supported()

