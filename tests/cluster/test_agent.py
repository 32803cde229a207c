"""Finding the Cilium agent of a node (k8s-app=cilium, spec.nodeName, container cilium-agent,
cilium-dbg or cilium), running its commands, and Hubble flows from inside it."""

from __future__ import annotations

import copy

import pytest

from labkit.errors import AgentNotFoundError
from labkit.parsers import parse
from tests.cluster.conftest import SUCCESS, exit_frame, fixture
from tests.outputs import ROOT, load

NODES = {"kind": "NodeList", "items": [{"metadata": {"name": n}} for n in
                                        ("k8s-s", "k8s-w1", "k8s-w2")]}
SERVICE_LIST = load(ROOT / "tests/fixtures/seed/cilium-service-list.txt").text
FLOWS = load(ROOT / "tests/fixtures/invented/hubble-observe-jsonpb-mixed.json").text


def agent_pod(node: str, name: str, ready: bool = True) -> dict:
    """A real pod (client-python's minikube capture) dressed as a Cilium agent pod: its
    name, namespace, label, node and container changed to what the DaemonSet makes."""
    pod = copy.deepcopy(fixture("client-python-pod-list.json")["items"][0])
    pod["metadata"].update(name=name, namespace="kube-system", labels={"k8s-app": "cilium"})
    pod["spec"]["nodeName"] = node
    pod["spec"]["containers"][0]["name"] = "cilium-agent"
    if not ready:
        pod["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
        pod["status"]["containerStatuses"][0]["state"] = {
            "waiting": {"reason": "CrashLoopBackOff"}}
    return pod


@pytest.fixture
def cluster(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, NODES)
    api.routes[("GET", "/api/v1/pods")] = (200, {"items": [
        agent_pod("k8s-s", "cilium-abcde"), agent_pod("k8s-w1", "cilium-fghij")]})
    return lab


def answer(execs, argv, stdout: str = "", frames=None) -> None:
    execs.answers[tuple(argv)] = frames or [b"\x01" + stdout.encode(), SUCCESS]


def test_the_agent_of_a_node_is_its_cilium_pod_with_cilium_dbg(cluster, api, execs):
    answer(execs, ["cilium-dbg", "--help"], "CLI for interacting with the local Cilium Agent")
    agent = cluster.agent("k8s-w1")
    assert (agent.pod, agent.namespace, agent.cilium_program) == (
        "cilium-fghij", "kube-system", "cilium-dbg")
    assert execs.asked[0]["container"] == "cilium-agent"
    query = api.sent("GET")[0]["query"]
    assert query["labelSelector"] == ["k8s-app=cilium"]


def test_an_agent_without_cilium_dbg_uses_cilium(cluster, execs):
    answer(execs, ["cilium", "--help"], "CLI for interacting with the local Cilium Agent")
    assert cluster.agent("k8s-s").cilium_program == "cilium"
    assert [a["argv"][0] for a in execs.asked] == ["cilium-dbg", "cilium"]


def test_a_node_without_an_agent_says_where_agents_run(cluster):
    with pytest.raises(AgentNotFoundError, match=r"no Cilium agent pod \(k8s-app=cilium\) on "
                                                 r"node k8s-w2; agents run on k8s-s, k8s-w1"):
        cluster.agent("k8s-w2")


def test_a_node_that_does_not_exist_is_named(cluster):
    with pytest.raises(AgentNotFoundError, match=r"no node 'k8s-w9'.*k8s-s, k8s-w1, k8s-w2"):
        cluster.agent("k8s-w9")


def test_an_agent_pod_not_ready_points_at_its_logs(lab, api):
    api.routes[("GET", "/api/v1/nodes")] = (200, NODES)
    api.routes[("GET", "/api/v1/pods")] = (200, {"items": [
        agent_pod("k8s-s", "cilium-zzz", ready=False)]})
    with pytest.raises(AgentNotFoundError, match=r"not Ready on node k8s-s "
                                                 r"\(CrashLoopBackOff: see `kubectl -n "
                                                 r"kube-system logs cilium-zzz -c cilium-agent`"):
        lab.agent("k8s-s")


def test_agent_methods_run_the_real_command_and_parse_it(cluster, execs):
    answer(execs, ["cilium-dbg", "--help"], "ok")
    answer(execs, ["cilium-dbg", "service", "list"], SERVICE_LIST)
    services = cluster.agent("k8s-s").service_list()
    assert services.frontend_ip.tolist() == ["10.108.12.195", "10.108.12.195"]
    assert execs.asked[-1]["pod"] == "cilium-abcde"


def test_node_commands_run_in_the_agent_pod(cluster, execs):
    answer(execs, ["cilium-dbg", "--help"], "ok")
    answer(execs, ["ip", "-br", "link"], "lo UNKNOWN 00:00:00:00:00:00\n")
    result = cluster.node("k8s-s").run("ip -br link")
    assert result.stdout.startswith("lo")
    assert result.where == "node k8s-s (via kube-system/cilium-abcde)"
    assert execs.asked[-1]["container"] == "cilium-agent"


def test_observe_runs_hubble_json_in_every_agent_and_joins_the_flows(cluster, execs):
    answer(execs, ["cilium-dbg", "--help"], "ok")
    argv = ["hubble", "observe", "-o", "json", "--last", "100", "--pod", "default/netpod"]
    answer(execs, argv, FLOWS)
    flows = cluster.observe(pod="default/netpod")
    assert sum(a["argv"] == argv for a in execs.asked) == 2  # k8s-s and k8s-w1
    assert len(flows) == 2 * len(parse("hubble observe -o json", FLOWS))
    assert flows["time"].is_monotonic_increasing
    assert {"source_pod", "destination_pod", "verdict"} <= set(flows.columns)


def test_follow_yields_one_flow_at_a_time_and_stops_after_its_duration(cluster, execs):
    answer(execs, ["cilium-dbg", "--help"], "ok")
    first = FLOWS.splitlines()[0]
    argv = ["hubble", "observe", "-o", "json", "--follow"]
    execs.answers[tuple(argv)] = [b"\x01" + first.encode() + b"\n"]
    execs_transport = execs.__call__

    def never_ending(*args):
        transport = execs_transport(*args)
        transport.closed_at_end = args[3] != argv
        return transport
    cluster.kube.open_exec = never_ending
    got = list(cluster.follow("k8s-s", duration=0.05))
    assert len(got) == 1 and len(got[0]) == 1


def test_a_tool_missing_from_a_pod_says_which_image_has_it(lab, api, execs):
    pod = fixture("client-python-pod-list.json")["items"][0]
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (200, {"items": [pod]})
    result = lab.exec("curl3-748c7587cf-stfgk", ["strace", "-c", "true"])
    assert result.returncode == 127
    assert "nicolaka/netshoot" in result.stderr
    assert execs.asked[0] == {"pod": "curl3-748c7587cf-stfgk", "namespace": "default",
                              "container": "curl3", "argv": ["strace", "-c", "true"],
                              "stdin": False}


def test_exec_failure_exit_code_reaches_the_result(lab, api, execs):
    pod = fixture("client-python-pod-list.json")["items"][0]
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (200, {"items": [pod]})
    execs.answers[("curl", "-s", "10.96.0.1")] = [exit_frame(7)]
    assert lab.exec("default/curl3-748c7587cf-stfgk", "curl -s 10.96.0.1").returncode == 7
