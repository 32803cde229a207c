"""Test doubles for the cluster lab, none of which touches a network:

- FakeAPI replaces the urllib3 pool manager inside a real kubernetes ApiClient, so requests
  go through the real client (DynamicClient, REST layer, serialization) and are answered
  from a table of (method, path) -> (status, JSON); every request is kept for assertions.
- FakeTransport is an exec websocket that hands out the frames a test gives it.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from kubernetes import client as k8s

from labkit.cluster.kube import Kube
from labkit.cluster.lab import ClusterLab

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
K8S = FIXTURES / "k8s"
HOST = "https://cluster.invalid:6443"


def fixture(name: str):
    text = (K8S / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


class FakeResponse:
    def __init__(self, status: int, body: object) -> None:
        self.status = status
        self.reason = {200: "OK", 201: "Created", 404: "Not Found", 422: "Unprocessable Entity"
                       }.get(status, "Error")
        self.data = json.dumps(body).encode()
        self.headers = {"Content-Type": "application/json"}

    def getheaders(self):
        return self.headers

    def getheader(self, name, default=None):
        return self.headers.get(name, default)


class FakeAPI:
    """Answers requests from routes; routes map (METHOD, path) to (status, body) or to a
    callable(request) -> (status, body). Unknown routes are a 404 Status."""

    def __init__(self, routes: dict | None = None) -> None:
        self.routes = dict(routes or {})
        self.requests: list[dict] = []
        self.routes.setdefault(("GET", "/api/v1"), (200, fixture("discovery-api-v1.json")))
        self.routes.setdefault(("GET", "/apis/apps/v1"),
                               (200, fixture("discovery-apis-apps-v1.json")))

    def request(self, method, url, fields=None, body=None, headers=None, timeout=None,
                preload_content=False, **kwargs):
        parts = urlsplit(url)
        request = {"method": method, "path": parts.path, "query": parse_qs(parts.query),
                   "headers": dict(headers or {}),
                   "body": json.loads(body) if body else None}
        self.requests.append(request)
        answer = self.routes.get((method, parts.path))
        if callable(answer):
            answer = answer(request)
        if answer is None:
            answer = (404, {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                            "reason": "NotFound", "code": 404,
                            "message": f"{parts.path} not found"})
        return FakeResponse(*answer)

    def sent(self, method: str) -> list[dict]:
        return [r for r in self.requests if r["method"] == method]


class FakeTransport:
    """An exec websocket: recv() hands out the given frames, then None (nothing yet) forever
    unless closed=True, which ends with CLOSED."""

    def __init__(self, frames: list[bytes], closed: bool = True, subprotocol: str = "v4") -> None:
        self.frames = list(frames)
        self.closed_at_end = closed
        self.subprotocol = {"v4": "v4.channel.k8s.io", "v5": "v5.channel.k8s.io"}[subprotocol]
        self.sent: list[bytes] = []
        self.closed = False
        self.waited: list[float | None] = []

    def recv(self, timeout):
        self.waited.append(timeout)
        if self.frames:
            return self.frames.pop(0)
        if self.closed_at_end:
            return b""
        return None

    def send(self, data: bytes) -> None:
        self.sent.append(data)

    def close(self) -> None:
        self.closed = True


def status_frame(status: dict) -> bytes:
    return b"\x03" + json.dumps(status).encode()


SUCCESS = status_frame({"metadata": {}, "status": "Success"})


def exit_frame(code: int) -> bytes:
    """The Status the API server sends for a non-zero exit (kubelet's remotecommand)."""
    return status_frame({
        "metadata": {}, "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command "
                   f"[...], exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]}})


class Execs:
    """A transport factory: answers each exec by the argv it asks for, and keeps the asks."""

    def __init__(self, answers: dict[tuple, list[bytes]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[dict] = []

    def __call__(self, pod, namespace, container, argv, stdin):
        self.asked.append({"pod": pod, "namespace": namespace, "container": container,
                           "argv": argv, "stdin": stdin})
        frames = self.answers.get(tuple(argv), [b"\x02" + f"{argv[0]}: not found\n".encode(),
                                                exit_frame(127)])
        return FakeTransport(list(frames))


@pytest.fixture
def api() -> FakeAPI:
    return FakeAPI()


@pytest.fixture
def execs() -> Execs:
    return Execs()


@pytest.fixture
def lab(api: FakeAPI, execs: Execs) -> ClusterLab:
    configuration = k8s.Configuration(host=HOST)
    # the key is "BearerToken" in newer clients, "authorization" in older ones
    configuration.api_key = dict.fromkeys(["BearerToken", "authorization"],
                                          "Bearer test-token-not-real")
    client = k8s.ApiClient(configuration)
    client.rest_client.pool_manager = api
    return ClusterLab(kube=Kube(client, transport=execs))
