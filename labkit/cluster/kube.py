"""The connection to the API server: kubeconfig or in-cluster config, raw JSON reads,
server-side apply, delete and exec, with errors that say what to do.

Reads return the API server's JSON as dicts (so the table code works on real captured
objects); writes go through the kubernetes client's DynamicClient, whose resources are
found by asking the API server about only the group-versions in use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config, stream
from kubernetes.client.rest import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import DynamicApiError
from kubernetes.dynamic.resource import Resource
from urllib3.exceptions import HTTPError

from labkit.cluster.channels import Transport, WebSocketTransport
from labkit.errors import ClusterUnreachableError, LabError

FIELD_MANAGER = "labkit"
TransportFactory = Callable[[str, str, str, list[str], bool], Transport]


def load_client(context: str | None = None, kubeconfig: str | None = None) -> k8s.ApiClient:
    """An ApiClient from the kubeconfig (KUBECONFIG, ~/.kube/config, or the path given; the
    context given or the current one), else from the pod's service account."""
    paths = [kubeconfig] if kubeconfig else [
        p for p in os.environ.get("KUBECONFIG", "").split(os.pathsep) if p
    ] or [str(Path.home() / ".kube" / "config")]
    if not any(Path(p).expanduser().is_file() for p in paths):
        if os.environ.get("KUBERNETES_SERVICE_HOST") and not kubeconfig:
            config.load_incluster_config()
            return k8s.ApiClient()
        raise ClusterUnreachableError(
            f"no kubeconfig at {', '.join(paths)}: copy your cluster's kubeconfig to "
            "~/.kube/config or set KUBECONFIG (or run 'labkit cluster up' for a kind cluster)")
    try:
        return config.new_client_from_config(config_file=os.pathsep.join(paths),
                                             context=context)
    except config.ConfigException as e:
        raise ClusterUnreachableError(
            f"cannot use the kubeconfig ({e}); check `kubectl config get-contexts`"
            + (f" for a context named {context!r}" if context else "")) from None


class _GroupVersions:
    """A DynamicClient discoverer that asks only for the group-versions it is asked about
    (one GET each, kept): no crawl of every API group, no cache file in /tmp."""

    def __init__(self, client: DynamicClient, cache_file: str | None = None) -> None:
        self.client = client
        self._known: dict[str, list[dict]] = {}

    def get(self, api_version: str, kind: str) -> Resource:
        if api_version not in self._known:
            path = f"/api/{api_version}" if "/" not in api_version else f"/apis/{api_version}"
            try:
                found = self.client.request("GET", path, serialize=False)
            except DynamicApiError as e:
                if e.status == 404:
                    raise LabError(f"the cluster does not serve {api_version} (kind {kind}); "
                                   "is the CRD installed?") from None
                raise
            self._known[api_version] = json.loads(found.data)["resources"]
        group, _, version = api_version.rpartition("/")
        for r in self._known[api_version]:
            if r["kind"] == kind and "/" not in r["name"]:
                fields = {k: v for k, v in r.items() if k not in ("group", "version")}
                return Resource(prefix="apis" if group else "api", group=group,
                                api_version=version, client=self.client, **fields)
        raise LabError(f"the cluster's {api_version} has no kind {kind}")


class Kube:
    """One cluster: JSON reads, apply, delete, exec. Errors name the cluster and the fix."""

    def __init__(self, api: k8s.ApiClient, transport: TransportFactory | None = None) -> None:
        self.api = api
        self.dynamic = DynamicClient(api, discoverer=_GroupVersions)
        self.open_exec = transport or self._websocket

    @property
    def host(self) -> str:
        return self.api.configuration.host

    def _call(self, what: str, action: Callable):
        try:
            return action()
        except (HTTPError, OSError) as e:
            raise ClusterUnreachableError(
                f"cannot reach the API server at {self.host} ({what}: {type(e).__name__}); "
                "check `kubectl cluster-info` and that the cluster is running") from None

    def get(self, path: str, *, label_selector: str | None = None,
            field_selector: str | None = None, timeout: float = 15.0) -> dict:
        """GET a path (``/api/v1/nodes``) and return the API server's JSON."""
        response = self._call(f"GET {path}", lambda: self.dynamic.request(
            "GET", path, serialize=False, label_selector=label_selector,
            field_selector=field_selector, _request_timeout=timeout))
        return json.loads(response.data)

    def items(self, path: str, **selectors: str | None) -> list[dict]:
        return self.get(path, **selectors)["items"]

    def resource(self, obj: dict) -> Resource:
        return self._call("discovery", lambda: self.dynamic.resources.get(
            api_version=obj["apiVersion"], kind=obj["kind"]))

    def apply(self, obj: dict) -> int:
        """Server-side apply (field manager labkit, conflicts forced); the HTTP status
        (201 created, 200 updated)."""
        meta = obj["metadata"]
        res = self.resource(obj)
        response = self._call(f"apply {obj['kind']}/{meta['name']}", lambda: (
            self.dynamic.server_side_apply(
                res, body=obj, name=meta["name"], namespace=meta.get("namespace"),
                field_manager=FIELD_MANAGER, force_conflicts=True, serialize=False)))
        return response.status

    def delete(self, obj: dict, grace_seconds: int | None = None) -> bool:
        """Deletes an object; False if it did not exist."""
        meta = obj["metadata"]
        res = self.resource(obj)
        try:
            self._call(f"delete {obj['kind']}/{meta['name']}", lambda: self.dynamic.delete(
                res, name=meta["name"], namespace=meta.get("namespace"),
                grace_period_seconds=grace_seconds, propagation_policy="Background",
                serialize=False))
        except DynamicApiError as e:
            if e.status == 404:
                return False
            raise
        return True

    def exec_transport(self, pod: str, namespace: str, container: str,
                       argv: Sequence[str], stdin: bool) -> Transport:
        """Opens the exec websocket of one command (argv, never a shell unless argv is one)."""
        return self._call(f"exec in {namespace}/{pod}", lambda: self.open_exec(
            pod, namespace, container, list(argv), stdin))

    def _websocket(self, pod: str, namespace: str, container: str, argv: list[str],
                   stdin: bool) -> Transport:
        core = k8s.CoreV1Api(self.api)
        try:
            ws = stream.stream(core.connect_get_namespaced_pod_exec, pod, namespace,
                               command=argv, container=container, stdin=stdin, stdout=True,
                               stderr=True, tty=False, _preload_content=False)
        except ApiException as e:
            raise LabError(f"the API server refused exec in pod {namespace}/{pod} "
                           f"(container {container}): {e.reason or e.status}") from None
        return WebSocketTransport(ws.sock, ws.subprotocol)
