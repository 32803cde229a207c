"""kube-proxy's iptables mode, written into the lab's node namespaces for comparison.

The chapter says socket load balancing removes per-packet NAT, and that kube-proxy's
iptables rules cost more as services grow. To let learners measure it, the lab can run
either datapath: Cilium-style socket LB (the default) or the chains kube-proxy's iptables
mode writes - KUBE-SERVICES -> KUBE-SVC-... -> KUBE-SEP-... with `statistic --mode
random`, DNAT, and the KUBE-MARK-MASQ / KUBE-POSTROUTING masquerade marks - loaded with
iptables-restore as kube-proxy does, in the node namespaces only.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
import time

from labkit.errors import LabError
from labkit.local.topology import NODES

MODES = ("none", "iptables")
CLUSTER_CIDR = "172.16.0.0/16"
MASQ_MARK = "0x4000/0x4000"


def _chain(prefix: str, *parts: str) -> str:
    """kube-proxy's chain names: a prefix and 16 characters of base32(sha256(...))."""
    digest = hashlib.sha256("".join(parts).encode()).digest()
    return prefix + base64.b32encode(digest).decode()[:16]


def ruleset(frontends: list[dict]) -> str:
    """The nat table kube-proxy would write for these frontends, as iptables-restore input.

    Each frontend: ``service`` (ns/name), ``port_name``, ``ip``, ``port``, ``protocol``,
    ``backends`` as [id, ip, port] lists (the datapath's service book).
    """
    chains = [":KUBE-SERVICES - [0:0]", ":KUBE-POSTROUTING - [0:0]", ":KUBE-MARK-MASQ - [0:0]"]
    rules = [
        '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
        '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING',
        f"-A KUBE-MARK-MASQ -j MARK --set-xmark {MASQ_MARK}",
        f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ_MARK} -j RETURN",
        "-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0",
        '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" '
        "-j MASQUERADE",
    ]
    for f in frontends:
        proto = f["protocol"].lower()
        name = f"{f['service']}:{f.get('port_name') or ''}"
        svc_chain = _chain("KUBE-SVC-", name, proto)
        chains.append(f":{svc_chain} - [0:0]")
        rules.append(f'-A KUBE-SERVICES -d {f["ip"]}/32 -p {proto} -m comment --comment '
                     f'"{name} cluster IP" -m {proto} --dport {f["port"]} -j {svc_chain}')
        rules.append(f'-A {svc_chain} ! -s {CLUSTER_CIDR} -d {f["ip"]}/32 -p {proto} -m comment '
                     f'--comment "{name} cluster IP" -m {proto} --dport {f["port"]} '
                     "-j KUBE-MARK-MASQ")
        backends = f["backends"]
        for i, (_, ip, port) in enumerate(backends):
            sep = _chain("KUBE-SEP-", name, proto, f"{ip}:{port}")
            chains.append(f":{sep} - [0:0]")
            left = len(backends) - i
            chance = (f" -m statistic --mode random --probability {1 / left:.11f}"
                      if left > 1 else "")
            rules.append(f'-A {svc_chain} -m comment --comment "{name} -> {ip}:{port}"{chance} '
                         f"-j {sep}")
            rules.append(f'-A {sep} -s {ip}/32 -m comment --comment "{name}" -j KUBE-MARK-MASQ')
            rules.append(f'-A {sep} -p {proto} -m comment --comment "{name}" -m {proto} '
                         f"-j DNAT --to-destination {ip}:{port}")
    return "\n".join(["*nat", *chains, *rules, "COMMIT", ""])


def _restore(netns: str, text: str) -> None:
    done = subprocess.run(["ip", "netns", "exec", netns, "iptables-restore"], input=text,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise LabError(f"iptables-restore in {netns} failed: {done.stderr.strip()[:300]}; "
                       "check that iptables works (`labkit doctor`), or rebuild the lab with "
                       "`labkit down` and `labkit up`")


def install(frontends: list[dict]) -> float:
    """Writes the rules into every node namespace; returns the seconds it took."""
    text = ruleset(frontends)
    start = time.perf_counter()
    for node in NODES:
        _restore(node.netns, text)
    return time.perf_counter() - start


def remove() -> None:
    """Empties the nat table of every node namespace (the lab writes no other nat rules)."""
    for node in NODES:
        _restore(node.netns, "*nat\nCOMMIT\n")
