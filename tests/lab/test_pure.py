"""The lab's generated network config and its tables, checked without building anything."""

from __future__ import annotations

from labkit.local import network, tables
from labkit.local.topology import MACHINES, NODES, lxc_name, machine


def test_each_node_routes_other_pod_cidrs_via_that_node():
    w1 = machine("k8s-w1")
    lines = network.machine_lines(w1)
    assert "route add 172.16.0.0/24 via 192.168.10.10 dev ens5" in lines
    assert "route add 172.16.2.0/24 via 192.168.10.102 dev ens5" in lines
    assert "address add 172.16.1.254/32 dev cilium_host scope link" in lines


def test_no_generated_route_leaves_the_lab():
    every = network.vpc_lines() + [line for m in MACHINES for line in network.machine_lines(m)]
    every += [line for m in NODES for line in network.health_lines(m)]
    assert not any(line.startswith("route add default") and "172.16." not in line
                   for line in every)
    assert not any("default" in line for m in MACHINES for line in network.machine_lines(m))


def test_names_fit_linux_limits_and_macs_are_local_unicast():
    name = lxc_name("default", "a-very-long-pod-name-indeed")
    assert name.startswith("lxc") and len(name) <= 15
    first = int(network.mac_for(name).split(":")[0], 16)
    assert first & 0x02 and not first & 0x01


def test_age_reads_like_kubectl():
    assert [tables.age(s) for s in (5, 119, 200, 900, 4 * 3600 + 120, 30 * 3600, 3 * 86400)] == [
        "5s", "119s", "3m20s", "15m", "4h2m", "30h", "3d"]
