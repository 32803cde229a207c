"""The pure parts of notebook 10's experiment: kube-proxy's rules, the ratios, the checks.

The frames below are invented figures shaped like compare.measure()'s output; they test the
arithmetic and that each check fails when its claim does not hold."""

from __future__ import annotations

import pandas as pd
import pytest

from labkit import checks
from labkit.local import compare, kube_proxy, manifests


def _frontend(name: str, ip: str, backends: int) -> dict:
    return {"service": f"default/{name}", "port_name": "http", "ip": ip, "port": 80,
            "protocol": "TCP",
            "backends": [[i + 1, f"172.16.{i + 1}.10", 80] for i in range(backends)]}


def test_ruleset_chains_services_to_endpoints_with_random_probabilities():
    text = kube_proxy.ruleset([_frontend("svc", "10.96.0.10", 3)])
    lines = text.splitlines()
    assert lines[0] == "*nat" and lines[-1] == "COMMIT"
    to_svc = [ln for ln in lines if ln.startswith("-A KUBE-SERVICES") and "10.96.0.10/32" in ln]
    assert len(to_svc) == 1
    svc_chain = to_svc[0].split("-j ")[-1]
    jumps = [ln for ln in lines if ln.startswith(f"-A {svc_chain} ") and "KUBE-SEP-" in ln]
    assert [("0.33333333333" in j, "0.50000000000" in j, "statistic" in j) for j in jumps] == [
        (True, False, True), (False, True, True), (False, False, False)]
    dnat = [ln for ln in lines if "DNAT --to-destination" in ln]
    assert sorted(ln.split()[-1] for ln in dnat) == [f"172.16.{i}.10:80" for i in (1, 2, 3)]


def test_chain_names_are_stable_and_differ_per_service():
    one = kube_proxy.ruleset([_frontend("a", "10.96.0.1", 1)])
    again = kube_proxy.ruleset([_frontend("a", "10.96.0.1", 1)])
    other = kube_proxy.ruleset([_frontend("b", "10.96.0.2", 1)])
    assert one == again and one != other


def test_extra_services_are_services_the_lab_accepts():
    specs = manifests.load(compare.extra_services([f"bench-{i}" for i in range(5)]))
    assert [s.name for s in specs] == [f"bench-{i}" for i in range(5)]
    assert all(s.selector == {"app": "webpod"} for s in specs)


def _figures(socket_ratio: float, iptables_ratio: float, install: list[float]) -> pd.DataFrame:
    """Invented figures: the direct path at 0.5 ms; the others at the given ratios (iptables
    growing slowly with the services)."""
    rows = []
    for n, seconds in zip((1, 100, 1000), install, strict=True):
        growing = iptables_ratio * n ** 0.01
        for r in range(2):
            for path, ratio, installed in (
                    ("pod IP", 1.0, None), ("ClusterIP via socket LB", socket_ratio, None),
                    ("pod IP with kube-proxy's rules", growing, None),
                    ("ClusterIP via iptables", growing, seconds)):
                rows.append({"services": n, "path": path, "repeat": r,
                             "connections_per_s": 2000.0 / ratio, "median_ms": 0.5 * ratio,
                             "p99_ms": 1.0, "install_s": installed})
    return compare.summary(compare.with_ratios(pd.DataFrame(rows)))


def test_ratios_are_to_the_direct_path_of_the_same_run():
    summary = _figures(1.02, 1.3, [0.01, 0.1, 0.9]).set_index(["services", "path"])
    assert summary.loc[(1, "ClusterIP via socket LB"), "latency_ratio"] == pytest.approx(1.02)
    assert summary.loc[(1, "ClusterIP via socket LB"), "rate_ratio"] == pytest.approx(1 / 1.02)
    assert summary.loc[(1, "pod IP"), "latency_ratio"] == 1.0


def test_checks_pass_when_the_chapter_holds():
    summary = _figures(1.02, 1.3, [0.01, 0.1, 0.9])
    checks.socket_lb_close_to_direct(summary)
    checks.iptables_cost_grows(summary)


def test_socket_lb_check_fails_when_it_costs_like_per_packet_nat():
    with pytest.raises(checks.CheckFailed, match="within 1.10"):
        checks.socket_lb_close_to_direct(_figures(1.4, 1.3, [0.01, 0.1, 0.9]))


def test_iptables_check_fails_when_install_time_does_not_grow():
    with pytest.raises(checks.CheckFailed, match="did not take longer"):
        checks.iptables_cost_grows(_figures(1.0, 1.3, [0.5, 0.1, 0.9]))


def test_iptables_check_fails_when_dnat_is_no_dearer_than_socket_lb():
    with pytest.raises(checks.CheckFailed, match="cost no more than the socket LB"):
        checks.iptables_cost_grows(_figures(1.5, 1.0, [0.01, 0.1, 0.9]))


def test_curves_draw_one_line_per_path_and_the_install_time():
    fig = compare.curves(_figures(1.02, 1.3, [0.01, 0.1, 0.9]))
    gids = {a.get_gid() for a in fig.findobj() if a.get_gid()}
    assert {f"rate {p}" for p in compare.PATHS} <= gids and "install" in gids
    install = next(a for a in fig.findobj() if a.get_gid() == "install")
    assert list(install.get_ydata()) == [0.01, 0.1, 0.9]


def test_counts_come_from_the_environment_when_set(monkeypatch):
    monkeypatch.setenv("LABKIT_COUNTS", "1, 50")
    assert compare.counts_from_env() == (1, 50)
    monkeypatch.delenv("LABKIT_COUNTS")
    assert compare.counts_from_env() == compare.COUNTS


def test_on_a_cluster_the_experiment_says_it_needs_the_local_lab():
    class Cluster:
        kind = "cluster"

    with pytest.raises(compare.LabError, match="only the local lab"):
        compare.measure(Cluster())
