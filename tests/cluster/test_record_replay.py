"""Recording a session to JSON lines with secrets redacted, and replaying it."""

from __future__ import annotations

import json

import pytest
import yaml

from labkit import connect
from labkit.cluster.replay import ReplayLab
from labkit.errors import ClusterUnreachableError, ReplayMissError
from labkit.record import RecordingLab, redact
from tests.cluster.conftest import SUCCESS, fixture
from tests.cluster.test_agent import NODES, SERVICE_LIST, agent_pod

JWT = ("eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50In0."
       "c2lnbmF0dXJlLW5vdC1yZWFs")
PEM_CERT = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUfake\n-----END CERTIFICATE-----"
PEM_KEY = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAfake\n-----END RSA PRIVATE KEY-----"
SECRETS = {
    "bearer": "Authorization: Bearer abcdef0123456789tokentoken",
    "basic": "authorization: Basic dXNlcjpwYXNzd29yZA==",
    "jwt": f"token in a file: {JWT}",
    "certificate": PEM_CERT,
    "private key": PEM_KEY,
    "kubeconfig key data": "    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQo=",
    "kubeconfig token": "    token: kubeadm-token.abcdef0123456789",
    "url password": "https://admin:s3cr3t@registry.example/v2/",
    "json password": '{"password": "hunter2", "user": "me"}',
}
LEAKS = ["abcdef0123456789tokentoken", "dXNlcjpwYXNzd29yZA==", JWT, "MIIBszCCAVmgAwIBAgIUfake",
         "MIIEowIBAAKCAQEAfake", "LS0tLS1CRUdJTi", "kubeadm-token.abcdef0123456789", "s3cr3t",
         "hunter2"]


@pytest.mark.parametrize("what", SECRETS)
def test_redact_removes_each_kind_of_secret(what):
    cleaned = redact(SECRETS[what])
    assert not [leak for leak in LEAKS if leak in cleaned]
    assert "redacted" in cleaned


def test_redact_leaves_ordinary_output_alone():
    text = "16   10.108.12.195:80      ClusterIP      1 => 172.16.2.157:80\nKVStore: Ok\n"
    assert redact(text) == text


@pytest.fixture
def cluster(lab, api, execs):
    api.routes[("GET", "/api/v1/nodes")] = (200, NODES)
    api.routes[("GET", "/api/v1/pods")] = (200, {"items": [agent_pod("k8s-s", "cilium-a")]})
    api.routes[("GET", "/api/v1/namespaces/default/pods")] = (
        200, fixture("client-python-pod-list.json"))
    execs.answers[("cilium-dbg", "--help")] = [b"\x01ok", SUCCESS]
    execs.answers[("cilium-dbg", "service", "list")] = [b"\x01" + SERVICE_LIST.encode(),
                                                         SUCCESS]
    leaky = "\n".join(SECRETS.values()).encode()
    execs.answers[("cat", "/root/.kube/config")] = [b"\x01" + leaky, SUCCESS]
    return lab


def record_session(lab, path):
    recording = RecordingLab(lab, path)
    pods = recording.pods()
    services = recording.agent("k8s-s").service_list()
    config = recording.exec("curl3-748c7587cf-stfgk", ["cat", "/root/.kube/config"])
    return pods, services, config


def test_a_recorded_session_replays_the_same_tables_and_results(cluster, tmp_path):
    path = tmp_path / "session.jsonl"
    pods, services, _ = record_session(cluster, path)
    replay = ReplayLab(path)
    assert replay.pods().equals(pods)
    replayed = replay.agent("k8s-s").service_list()
    assert replayed.equals(services)
    assert replay.agent("k8s-s").cilium_program == "cilium-dbg"
    assert replay.exec("curl3-748c7587cf-stfgk", "cat /root/.kube/config").returncode == 0


def test_the_transcript_holds_no_secret_the_session_saw(cluster, tmp_path):
    path = tmp_path / "session.jsonl"
    _, _, config = record_session(cluster, path)
    assert "s3cr3t" in config.stdout  # the live result is untouched
    text = path.read_text()
    assert [leak for leak in LEAKS if leak in text] == []
    ops = [json.loads(line)["op"] for line in text.splitlines()]
    assert ops == ["start", "table", "agent", "exec", "exec"]


def test_replay_names_a_command_the_transcript_does_not_hold(cluster, tmp_path):
    path = tmp_path / "session.jsonl"
    record_session(cluster, path)
    replay = ReplayLab(path)
    with pytest.raises(ReplayMissError, match=r"does not hold `cilium-dbg bpf lb list` in "
                                              r"agent k8s-s; for agent k8s-s it holds: "
                                              r"cilium-dbg service list"):
        replay.agent("k8s-s").bpf_lb_list()
    with pytest.raises(ReplayMissError, match=r"does not hold services\(namespace='default'"):
        replay.services()
    with pytest.raises(ReplayMissError, match="the Cilium agent of node k8s-w1"):
        replay.agent("k8s-w1")


def test_connect_gives_a_replay_lab_from_labkit_lab(cluster, tmp_path, monkeypatch):
    path = tmp_path / "session.jsonl"
    record_session(cluster, path)
    monkeypatch.setenv("LABKIT_LAB", f"replay:{path}")
    lab = connect()
    assert isinstance(lab, ReplayLab)
    assert lab.status()["recorded_on"] == "cluster"


def test_connect_cluster_reads_the_kubeconfig_and_records_when_asked(tmp_path, monkeypatch):
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "c", "cluster": {"server": "https://cluster.invalid:6443"}}],
        "users": [{"name": "u", "user": {"token": "not-a-real-token"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "c", "user": "u"}}]}))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("LABKIT_RECORD", str(tmp_path / "t.jsonl"))
    lab = connect("cluster")  # nothing is contacted until a call is made
    assert isinstance(lab, RecordingLab)
    assert lab.status() == {"lab": "cluster", "server": "https://cluster.invalid:6443"}


def test_connect_cluster_without_a_kubeconfig_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(ClusterUnreachableError, match=r"no kubeconfig at .*absent"):
        connect("cluster")
