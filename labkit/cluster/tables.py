"""API objects (the JSON the API server sends) -> the rows ``kubectl get -o wide`` prints.

The columns are the local lab's (labkit.local.tables), so a notebook cell shows the same
table on both labs. The rules follow kubectl's printers (pkg/printers/internalversion).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from labkit.local import tables as local

NONE = "<none>"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
ROLE_PREFIX = "node-role.kubernetes.io/"


def _age(meta: dict, now: datetime) -> str:
    created = meta.get("creationTimestamp")
    if not created:
        return NONE
    return local.age((now - datetime.fromisoformat(created)).total_seconds())


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def node_row(node: dict, now: datetime | None = None) -> dict:
    meta, spec, status = node["metadata"], node.get("spec", {}), node.get("status", {})
    ready = any(c["type"] == "Ready" and c["status"] == "True"
                for c in status.get("conditions", []))
    state = "Ready" if ready else "NotReady"
    if spec.get("unschedulable"):
        state += ",SchedulingDisabled"
    labels = meta.get("labels") or {}
    roles = sorted(k[len(ROLE_PREFIX):] for k in labels if k.startswith(ROLE_PREFIX))
    roles += [labels["kubernetes.io/role"]] if "kubernetes.io/role" in labels else []
    addresses = defaultdict(list)
    for a in status.get("addresses", []):
        addresses[a["type"]].append(a["address"])
    info = status.get("nodeInfo", {})
    return {"name": meta["name"], "status": state, "roles": ",".join(roles) or NONE,
            "age": _age(meta, _now(now)), "version": info.get("kubeletVersion", ""),
            "internal_ip": (addresses["InternalIP"] or [NONE])[0],
            "external_ip": (addresses["ExternalIP"] or [NONE])[0],
            "os_image": info.get("osImage", ""), "kernel_version": info.get("kernelVersion", ""),
            "container_runtime": info.get("containerRuntimeVersion", "")}


def pod_phase(pod: dict) -> str:
    """kubectl's STATUS column: a waiting or terminated reason beats the phase."""
    status = pod.get("status", {})
    reason = status.get("reason") or status.get("phase") or "Unknown"
    inits = status.get("initContainerStatuses") or []
    for i, c in enumerate(inits):
        state = c.get("state", {})
        if "terminated" in state and state["terminated"].get("exitCode") == 0:
            continue
        if "terminated" in state:
            return "Init:" + (state["terminated"].get("reason") or "Error")
        waiting = state.get("waiting", {}).get("reason")
        if waiting and waiting != "PodInitializing":
            return "Init:" + waiting
        return f"Init:{i}/{len(pod['spec'].get('initContainers', []))}"
    for c in reversed(status.get("containerStatuses") or []):
        state = c.get("state", {})
        if state.get("waiting", {}).get("reason"):
            reason = state["waiting"]["reason"]
        elif state.get("terminated", {}).get("reason"):
            reason = state["terminated"]["reason"]
    if pod["metadata"].get("deletionTimestamp"):
        reason = "Terminating"
    return reason


def pod_ready(pod: dict) -> bool:
    return any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod.get("status", {}).get("conditions", []))


def pod_row(pod: dict, now: datetime | None = None) -> dict:
    meta, spec, status = pod["metadata"], pod.get("spec", {}), pod.get("status", {})
    statuses = status.get("containerStatuses") or []
    ready = sum(1 for c in statuses if c.get("ready"))
    gates = spec.get("readinessGates") or []
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    gates_text = (f"{sum(conditions.get(g['conditionType']) == 'True' for g in gates)}/"
                  f"{len(gates)}") if gates else NONE
    return {"namespace": meta.get("namespace", "default"), "name": meta["name"],
            "ready": f"{ready}/{len(spec.get('containers', []))}", "status": pod_phase(pod),
            "restarts": sum(c.get("restartCount", 0) for c in statuses),
            "age": _age(meta, _now(now)), "ip": status.get("podIP") or NONE,
            "node": spec.get("nodeName") or NONE,
            "nominated_node": status.get("nominatedNodeName") or NONE,
            "readiness_gates": gates_text}


def _ports(spec: dict) -> str:
    parts = []
    for p in spec.get("ports") or []:
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        parts.append(f"{p['port']}{node_port}/{p.get('protocol', 'TCP')}")
    return ",".join(parts) or NONE


def _external(spec: dict, status: dict) -> str:
    if spec.get("type") == "ExternalName":
        return spec.get("externalName", NONE)
    ingress = [i.get("ip") or i.get("hostname") for i in
               (status.get("loadBalancer") or {}).get("ingress") or []]
    found = ingress + list(spec.get("externalIPs") or [])
    if found:
        return ",".join(found)
    return "<pending>" if spec.get("type") == "LoadBalancer" else NONE


def service_row(svc: dict, now: datetime | None = None) -> dict:
    meta, spec = svc["metadata"], svc.get("spec", {})
    return {"namespace": meta.get("namespace", "default"), "name": meta["name"],
            "type": spec.get("type", "ClusterIP"), "cluster_ip": spec.get("clusterIP") or NONE,
            "external_ip": _external(spec, svc.get("status", {})), "ports": _ports(spec),
            "age": _age(meta, _now(now)),
            "selector": local.selector_text(spec.get("selector") or {})}


def endpoint_rows(slices: list[dict], now: datetime | None = None) -> list[dict]:
    """One row per service, joining its EndpointSlices: the ready addresses times the ports."""
    by_service: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for s in slices:
        meta = s["metadata"]
        name = (meta.get("labels") or {}).get(SERVICE_NAME_LABEL)
        if name:
            by_service[(meta.get("namespace", "default"), name)].append(s)
    rows = []
    for (namespace, name), group in sorted(by_service.items()):
        addresses = []
        for s in group:
            ports = [p.get("port") for p in s.get("ports") or []] or [None]
            for e in s.get("endpoints") or []:
                if (e.get("conditions") or {}).get("ready") is False:  # nil means ready
                    continue
                for ip in e.get("addresses", []):
                    addresses += [f"{ip}:{port}" if port is not None else ip for port in ports]
        oldest = min((s["metadata"] for s in group),
                     key=lambda m: m.get("creationTimestamp") or "")
        rows.append({"namespace": namespace, "name": name,
                     "endpoints": local.endpoints_text(addresses), "age": _age(oldest, _now(now))})
    return rows

