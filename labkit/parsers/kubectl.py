"""Parsers for ``kubectl get`` tables: nodes, pods, services, endpoints, Cilium's CRDs.

kubectl prints one table per resource kind: a header of upper-case column names, then one row
per object, columns padded by at least three spaces (tabwriter), ``<none>`` where a value is
missing. Columns come back in snake_case (``INTERNAL-IP`` -> ``internal_ip``,
``CILIUMINTERNALIP`` -> ``cilium_internal_ip``, ``PORT(S)`` -> ``ports``). Outputs filtered by
grep have no header: their cells are matched against the columns kubectl prints for that
resource (with and without ``-A`` and ``-o wide``).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd
import yaml

from labkit.parsers._registry import parser
from labkit.parsers._text import fail, frame, lines, load_json

__all__ = [
    "kubectl_get",
    "kubectl_get_nodes",
    "kubectl_get_pods",
    "kubectl_get_services",
    "kubectl_get_endpoints",
    "kubectl_get_ciliumnodes",
    "kubectl_get_ciliumendpoints",
    "kubectl_get_nodes_json",
    "kubectl_get_pods_json",
    "kubectl_get_services_json",
    "kubectl_get_endpoints_json",
]

_CELLS = re.compile(r"\s{2,}")
_HEADER_CELL = re.compile(r"^[A-Z][A-Z0-9()./_ -]*$")
_KNOWN = re.compile(r"^(?:No resources found.*|Warning: .*|I\d{4} .*|W\d{4} .*)$")
# Names kubectl squashes into one word, and PORT(S).
_NAMES = {"CILIUMINTERNALIP": "cilium_internal_ip", "INTERNALIP": "internal_ip",
          "PORT(S)": "ports", "IPV4": "ipv4", "IPV6": "ipv6"}


def _snake(header: str) -> str:
    return _NAMES.get(header) or re.sub(r"[^a-z0-9]+", "_", header.lower()).strip("_")


def _is_header(cells: list[str]) -> bool:
    return "NAME" in cells and all(_HEADER_CELL.match(c) for c in cells)


def _table_rows(output: str, known: list[list[str]], choose: Callable | None = None):
    """(line number, line, {column: cell}) for each data row of one or more tables.

    With a header, a line is cut on runs of 2+ spaces; when that gives a different number of
    cells (an empty cell, as in ciliumendpoints' IPV6), it is cut at the header's column
    positions. Without a header, the cells are matched to one of the ``known`` column lists
    by count (``choose`` picks among lists of the same length).
    """
    header: list[str] | None = None
    starts: list[int] = []
    for number, line in lines(output):
        text = line.rstrip()
        if _KNOWN.match(text.strip()):
            continue
        cells = _CELLS.split(text.strip())
        if _is_header(cells):
            header = [_snake(c) for c in cells]
            starts, pos = [], 0
            for cell in cells:
                pos = text.index(cell, pos)
                starts.append(pos)
                pos += len(cell)
            continue
        if header is not None:
            if len(cells) != len(header):
                ends = [*starts[1:], None]
                cells = [text[a:b].strip() for a, b in zip(starts, ends, strict=True)]
                if text[: starts[0]].strip() or not cells[0]:
                    raise fail(f"a row that does not fit the columns {header}", number, line)
            yield number, line, dict(zip(header, cells, strict=True))
            continue
        fits = [k for k in known if len(k) == len(cells)]
        if len(fits) > 1 and choose is not None:
            fits = [choose(cells, fits)]
        if not fits:
            raise fail(f"a row without header whose {len(cells)} cells match no known column "
                       f"list of this command ({sorted({len(k) for k in known})} cells)",
                       number, line)
        yield number, line, dict(zip(fits[0], cells, strict=True))


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "<none>") else value


def _kind_name(row: dict) -> None:
    name = row.get("name") or ""
    if "/" in name:
        row["kind"], row["name"] = name.split("/", 1)


def _int(value: str | None, number: int, line: str) -> int | None:
    if value is None or value in ("", "<none>", "<unknown>"):
        return None
    if not value.isdigit():
        raise fail(f"{value!r} should be a number", number, line)
    return int(value)


def _finish(rows: list[dict], columns: dict[str, str]) -> pd.DataFrame:
    """The frame with the resource's columns, plus any extra columns the header had
    (``-L label``, ``--show-labels``) as text."""
    extra = [c for row in rows for c in row if c not in columns]
    return frame(rows, {**columns, **{c: "str" for c in dict.fromkeys(extra)}})


# ---------------------------------------------------------------------------------------------
# nodes

NODE_COLUMNS = {
    "name": "str", "status": "str", "roles": "str", "age": "str", "version": "str",
    "internal_ip": "str", "external_ip": "str", "os_image": "str", "kernel_version": "str",
    "container_runtime": "str",
}
_NODE_KNOWN = [list(NODE_COLUMNS)[:5], list(NODE_COLUMNS)]


@parser("kubectl get nodes", "kubectl get node", "kubectl get no")
def kubectl_get_nodes(output: str) -> pd.DataFrame:
    """``kubectl get nodes [-o wide]``: one row per node.

    Columns: ``name``, ``status`` (Ready / NotReady), ``roles``, ``age``, ``version``, and
    with ``-o wide`` ``internal_ip``, ``external_ip``, ``os_image``, ``kernel_version``,
    ``container_runtime`` (None without ``-o wide``; ``<none>`` becomes None).
    """
    rows = []
    for _number, _line, row in _table_rows(output, _NODE_KNOWN):
        rows.append({k: _none(v) for k, v in row.items()})
    return _finish(rows, NODE_COLUMNS)


# ---------------------------------------------------------------------------------------------
# pods

POD_COLUMNS = {
    "namespace": "str", "name": "str", "ready": "str", "ready_count": "int",
    "ready_total": "int", "status": "str", "restarts": "int", "last_restart": "str",
    "age": "str", "ip": "str", "node": "str", "nominated_node": "str", "readiness_gates": "str",
}
_POD_BASE = ["name", "ready", "status", "restarts", "age"]
_POD_WIDE = [*_POD_BASE, "ip", "node", "nominated_node", "readiness_gates"]
_POD_KNOWN = [_POD_BASE, ["namespace", *_POD_BASE], _POD_WIDE, ["namespace", *_POD_WIDE]]
_READY = re.compile(r"^(\d+)/(\d+)$")
_RESTARTS = re.compile(r"^(\d+)(?: \((.+) ago\))?$")


@parser("kubectl get pods", "kubectl get pod", "kubectl get po")
def kubectl_get_pods(output: str) -> pd.DataFrame:
    """``kubectl get pods [-A] [-o wide]``: one row per pod.

    Columns: ``namespace`` (``-A``), ``name``, ``ready`` as printed (``1/2``) with
    ``ready_count`` and ``ready_total`` as ints, ``status``, ``restarts`` (int) and
    ``last_restart`` (``3m`` from ``2 (3m ago)``), ``age``, and with ``-o wide`` ``ip``,
    ``node``, ``nominated_node``, ``readiness_gates``.
    """
    rows = []
    for number, line, cells in _table_rows(output, _POD_KNOWN):
        row = {k: _none(v) for k, v in cells.items()}
        ready = _READY.match(row.get("ready") or "")
        if row.get("ready") is not None and not ready:
            raise fail("READY should read like 1/2", number, line)
        if ready:
            row["ready_count"], row["ready_total"] = int(ready[1]), int(ready[2])
        restarts = _RESTARTS.match(row.get("restarts") or "")
        if row.get("restarts") is not None and not restarts:
            raise fail("RESTARTS should read like 2 or 2 (3m ago)", number, line)
        if restarts:
            row["restarts"], row["last_restart"] = int(restarts[1]), restarts[2]
        rows.append(row)
    return _finish(rows, POD_COLUMNS)


# ---------------------------------------------------------------------------------------------
# services and endpoints

SERVICE_COLUMNS = {
    "namespace": "str", "kind": "str", "name": "str", "type": "str", "cluster_ip": "str",
    "external_ip": "str", "ports": "str", "port": "int", "node_port": "int", "protocol": "str",
    "age": "str", "selector": "str",
}
_SVC_BASE = ["name", "type", "cluster_ip", "external_ip", "ports", "age"]
_SVC_KNOWN = [_SVC_BASE, ["namespace", *_SVC_BASE], [*_SVC_BASE, "selector"],
              ["namespace", *_SVC_BASE, "selector"]]
_SVC_TYPES = {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}
_PORT = re.compile(r"^(\d+)(?::(\d+))?/([A-Z]+)$")


def _svc_choose(cells: list[str], fits: list[list[str]]) -> list[str]:
    """7 cells: ``-A`` (namespace first) or ``-o wide`` (selector last)? The type tells."""
    wide = cells[1] in _SVC_TYPES
    return next(f for f in fits if (f[0] != "namespace") == wide)


@parser("kubectl get services", "kubectl get service", "kubectl get svc")
def kubectl_get_services(output: str) -> pd.DataFrame:
    """``kubectl get svc [-A] [-o wide]``: one row per service.

    Columns: ``namespace`` (``-A``), ``kind`` (``service`` when names read
    ``service/svc``), ``name``, ``type``, ``cluster_ip``, ``external_ip``, ``ports`` as
    printed (``80:30080/TCP,443/TCP``) with the first one split into ``port``, ``node_port``,
    ``protocol``, ``age``, ``selector`` (``-o wide``).
    """
    rows = []
    for number, line, cells in _table_rows(output, _SVC_KNOWN, _svc_choose):
        row = {k: _none(v) for k, v in cells.items()}
        _kind_name(row)
        if row.get("ports"):
            first = _PORT.match(row["ports"].split(",")[0])
            if not first:
                raise fail("PORT(S) should read like 80/TCP or 80:30080/TCP", number, line)
            row["port"], row["protocol"] = int(first[1]), first[3]
            row["node_port"] = int(first[2]) if first[2] else None
        rows.append(row)
    return _finish(rows, SERVICE_COLUMNS)


ENDPOINT_COLUMNS = {
    "namespace": "str", "kind": "str", "name": "str", "endpoints": "str",
    "endpoint_ips": "list", "endpoint_ports": "list", "more": "int", "age": "str",
}
_EP_KNOWN = [["name", "endpoints", "age"], ["namespace", "name", "endpoints", "age"]]
_MORE = re.compile(r" \+ (\d+) more\.\.\.$")


@parser("kubectl get endpoints", "kubectl get ep")
def kubectl_get_endpoints(output: str) -> pd.DataFrame:
    """``kubectl get ep [-A]``: one row per Endpoints object (the backends of a service).

    Columns: ``namespace`` (``-A``), ``kind`` (``endpoints`` for ``endpoints/svc`` names),
    ``name``, ``endpoints`` as printed (``172.16.1.53:80,172.16.2.157:80``), the same split
    into ``endpoint_ips`` and ``endpoint_ports`` (lists, in order), ``more`` (kubectl's
    ``+ 3 more...``: addresses it did not print), ``age``.
    """
    rows = []
    for number, line, cells in _table_rows(output, _EP_KNOWN):
        row = {k: _none(v) for k, v in cells.items()}
        _kind_name(row)
        text = row.get("endpoints") or ""
        more = _MORE.search(text)
        if more:
            row["more"], text = int(more[1]), text[: more.start()]
        ips, ports = [], []
        for item in filter(None, text.split(",")):
            host, sep, port = item.rpartition(":")
            if not sep or not port.isdigit():
                raise fail(f"endpoint {item!r} should read address:port", number, line)
            ips.append(host.strip("[]"))
            ports.append(int(port))
        row["endpoint_ips"], row["endpoint_ports"] = ips, ports
        rows.append(row)
    return _finish(rows, ENDPOINT_COLUMNS)


# ---------------------------------------------------------------------------------------------
# Cilium's custom resources

CILIUMNODE_COLUMNS = {"name": "str", "cilium_internal_ip": "str", "internal_ip": "str",
                      "age": "str"}
_CN_KNOWN = [list(CILIUMNODE_COLUMNS), ["name", "age"]]


@parser("kubectl get ciliumnodes", "kubectl get ciliumnode", "kubectl get cn",
        "kubectl get ciliumnodes.cilium.io")
def kubectl_get_ciliumnodes(output: str) -> pd.DataFrame:
    """``kubectl get ciliumnodes``: one row per node as Cilium sees it.

    Columns: ``name``, ``cilium_internal_ip`` (the address of cilium_host, the pods'
    gateway), ``internal_ip`` (the node's address), ``age``. Old Cilium versions print only
    NAME and AGE (the other columns are then None).
    """
    rows = [{k: _none(v) for k, v in cells.items()}
            for _n, _l, cells in _table_rows(output, _CN_KNOWN)]
    return _finish(rows, CILIUMNODE_COLUMNS)


CILIUMENDPOINT_COLUMNS = {
    "namespace": "str", "name": "str", "security_identity": "int",
    "ingress_enforcement": "str", "egress_enforcement": "str", "visibility_policy": "str",
    "endpoint_state": "str", "ipv4": "str", "ipv6": "str", "age": "str",
}
_CEP_BASE = ["name", "security_identity", "endpoint_state", "ipv4", "ipv6"]
_CEP_WIDE = ["name", "security_identity", "ingress_enforcement", "egress_enforcement",
             "visibility_policy", "endpoint_state", "ipv4", "ipv6"]
_CEP_KNOWN = [_CEP_BASE, ["namespace", *_CEP_BASE], _CEP_WIDE, ["namespace", *_CEP_WIDE],
              ["name", "age"], ["namespace", "name", "age"]]


@parser("kubectl get ciliumendpoints", "kubectl get ciliumendpoint", "kubectl get cep",
        "kubectl get ciliumendpoints.cilium.io")
def kubectl_get_ciliumendpoints(output: str) -> pd.DataFrame:
    """``kubectl get ciliumendpoints [-A] [-o wide]``: one row per Cilium endpoint (pod).

    Columns: ``namespace`` (``-A``), ``name``, ``security_identity`` (int), with ``-o wide``
    ``ingress_enforcement``, ``egress_enforcement``, ``visibility_policy``, then
    ``endpoint_state`` (ready...), ``ipv4``, ``ipv6`` (None when empty), and ``age`` (old
    versions print only NAME and AGE).
    """
    rows = []
    for number, line, cells in _table_rows(output, _CEP_KNOWN):
        row = {k: _none(v) for k, v in cells.items()}
        row["security_identity"] = _int(row.get("security_identity"), number, line)
        rows.append(row)
    return _finish(rows, CILIUMENDPOINT_COLUMNS)


# ---------------------------------------------------------------------------------------------
# any other kubectl get table (several kinds at once: `kubectl get svc,ep svc`)

@parser("kubectl get")
def kubectl_get(output: str) -> pd.DataFrame:
    """Any ``kubectl get`` table, e.g. ``kubectl get svc,ep svc`` (one table per kind, a blank
    line between them).

    Columns: ``kind`` (``service`` from ``service/svc``; None when names have no kind),
    ``name``, then every header column in snake_case, in the order first seen; a column a
    table lacks is None in its rows. Values are text as printed (``<none>`` -> None). Needs
    the header lines: a row before any header raises ParseError.
    """
    rows = []
    for _n, _l, cells in _table_rows(output, []):
        row = {k: _none(v) for k, v in cells.items()}
        _kind_name(row)
        rows.append(row)
    return _finish(rows, {"kind": "str", "namespace": "str", "name": "str"})


# ---------------------------------------------------------------------------------------------
# -o json / -o yaml: the API objects themselves (a List with items, or one object)

_TIME_COLUMN = {"created": "time"}


def _objects(output: str, kind: str) -> list[dict]:
    """The objects of one kind in ``kubectl get -o json`` (or YAML) output: a ``List``'s
    ``items``, or a single object."""
    text = output.strip()
    if text and not text.startswith(("{", "[")):
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            number = mark.line + 1 if mark is not None else None
            all_lines = output.splitlines()
            line = all_lines[number - 1] if number and number <= len(all_lines) else None
            raise fail("neither JSON nor YAML", number, line) from None
    else:
        data = load_json(output)
    if data in ([], None):
        return []
    items = data.get("items") if isinstance(data, dict) and "items" in data else [data]
    if not isinstance(items, list):
        raise fail("expected a List whose \"items\" is a list")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("metadata"), dict):
            raise fail(f"expected Kubernetes API objects with \"metadata\", found {item!r:.60}")
        if item.get("kind", kind) != kind:
            raise fail(f"expected {kind} objects, found a {item.get('kind')!r}")
    return items


def _get(obj: object, *path: str, default=None):
    """obj[path[0]][path[1]]..., or ``default`` where a level is missing or not a mapping."""
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return default
        obj = obj[key]
    return obj


def _list(obj: object, *path: str) -> list:
    value = _get(obj, *path, default=[])
    if not isinstance(value, list):
        raise fail(f"{'.'.join(path)} should be a list, found {value!r:.40}")
    return [v for v in value if isinstance(v, dict)]


def _meta(item: dict) -> dict:
    created = _get(item, "metadata", "creationTimestamp")
    if created is not None and not isinstance(created, str):
        created = str(created)  # YAML reads an unquoted timestamp as a datetime
    if created:
        try:
            pd.Timestamp(created)
        except ValueError:
            raise fail(f"creationTimestamp {created!r} is not a time") from None
    return {"namespace": _get(item, "metadata", "namespace"),
            "name": _get(item, "metadata", "name"), "created": created}


def _number(value: object, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise fail(f"{what} should be a number, found {value!r:.40}")
    return value


@parser("kubectl get nodes", "kubectl get node", "kubectl get no", form="json")
def kubectl_get_nodes_json(output: str) -> pd.DataFrame:
    """``kubectl get nodes -o json`` (or ``-o yaml``): the Node objects, one row per node.

    Same columns as :func:`kubectl_get_nodes`, computed as kubectl's printer does: ``status``
    from the Ready condition (``,SchedulingDisabled`` when cordoned), ``roles`` from the
    ``node-role.kubernetes.io/*`` labels, ``internal_ip``/``external_ip`` (first address of
    that type), ``os_image``, ``kernel_version``, ``container_runtime`` and ``version``
    from ``status.nodeInfo``. ``age`` is relative to the moment kubectl ran, so it is empty;
    ``created`` (an extra column) holds the creation time.
    """
    rows = []
    for item in _objects(output, "Node"):
        ready = [c.get("status") for c in _list(item, "status", "conditions")
                 if c.get("type") == "Ready"]
        status = {"True": "Ready"}.get(ready[0], "NotReady") if ready else "Unknown"
        if _get(item, "spec", "unschedulable"):
            status += ",SchedulingDisabled"
        labels = _get(item, "metadata", "labels", default={}) or {}
        roles = sorted(k.split("/", 1)[1] for k in labels
                       if k.startswith("node-role.kubernetes.io/") and "/" in k)
        roles += [] if roles or "kubernetes.io/role" not in labels else [
            labels["kubernetes.io/role"]]
        addresses = {}
        for a in _list(item, "status", "addresses"):
            addresses.setdefault(a.get("type"), a.get("address"))
        info = _get(item, "status", "nodeInfo", default={}) or {}
        rows.append({**_meta(item), "status": status, "roles": ",".join(roles) or None,
                     "version": _get(info, "kubeletVersion"),
                     "internal_ip": addresses.get("InternalIP"),
                     "external_ip": addresses.get("ExternalIP"),
                     "os_image": _get(info, "osImage"),
                     "kernel_version": _get(info, "kernelVersion"),
                     "container_runtime": _get(info, "containerRuntimeVersion")})
    return frame(rows, {**NODE_COLUMNS, **_TIME_COLUMN})


def _pod_status(item: dict) -> str | None:
    """The STATUS kubectl prints: the reason of the last container that is not running,
    else the pod's reason or phase; ``Terminating`` once deletion started."""
    reason = _get(item, "status", "reason") or _get(item, "status", "phase")
    for c in reversed(_list(item, "status", "containerStatuses")):
        waiting = _get(c, "state", "waiting")
        terminated = _get(c, "state", "terminated")
        if isinstance(waiting, dict) and waiting.get("reason"):
            reason = waiting["reason"]
        elif isinstance(terminated, dict):
            if terminated.get("reason"):
                reason = terminated["reason"]
            elif terminated.get("signal"):
                reason = f"Signal:{terminated['signal']}"
            else:
                reason = f"ExitCode:{terminated.get('exitCode')}"
    if _get(item, "metadata", "deletionTimestamp") and reason != "NodeLost":
        reason = "Terminating"
    return reason


@parser("kubectl get pods", "kubectl get pod", "kubectl get po", form="json")
def kubectl_get_pods_json(output: str) -> pd.DataFrame:
    """``kubectl get pods -o json`` (or ``-o yaml``): the Pod objects, one row per pod.

    Same columns as :func:`kubectl_get_pods`: ``ready`` (``1/2``: ready containers of all
    containers) with ``ready_count``/``ready_total``, ``status`` as kubectl computes it
    (the waiting/terminated reason of a container, e.g. ``CrashLoopBackOff``, else the
    phase), ``restarts`` (sum over containers), ``ip`` (``status.podIP``), ``node``,
    ``nominated_node``, ``readiness_gates`` (``1/1``, when the pod has gates). ``age`` and
    ``last_restart`` are relative to when kubectl ran, so they are empty; ``created`` holds
    the creation time.
    """
    rows = []
    for item in _objects(output, "Pod"):
        statuses = _list(item, "status", "containerStatuses")
        total = len(_list(item, "spec", "containers"))
        ready = sum(1 for c in statuses if c.get("ready") is True)
        restarts = sum(_number(c.get("restartCount"), "restartCount") or 0 for c in statuses)
        gates = [g.get("conditionType") for g in _list(item, "spec", "readinessGates")]
        true = {c.get("type") for c in _list(item, "status", "conditions")
                if c.get("status") == "True"}
        rows.append({**_meta(item), "ready": f"{ready}/{total}", "ready_count": ready,
                     "ready_total": total, "status": _pod_status(item), "restarts": restarts,
                     "ip": _get(item, "status", "podIP"),
                     "node": _get(item, "spec", "nodeName"),
                     "nominated_node": _get(item, "status", "nominatedNodeName"),
                     "readiness_gates": f"{sum(g in true for g in gates)}/{len(gates)}"
                     if gates else None})
    return frame(rows, {**POD_COLUMNS, **_TIME_COLUMN})


def _service_ports(ports: list[dict]) -> str | None:
    cells = []
    for p in ports:
        port = _number(p.get("port"), "port")
        node_port = _number(p.get("nodePort"), "nodePort")
        cells.append(f"{port}{f':{node_port}' if node_port else ''}/{p.get('protocol', 'TCP')}")
    return ",".join(cells) or None


@parser("kubectl get services", "kubectl get service", "kubectl get svc", form="json")
def kubectl_get_services_json(output: str) -> pd.DataFrame:
    """``kubectl get svc -o json`` (or ``-o yaml``): the Service objects, one row per service.

    Same columns as :func:`kubectl_get_services`: ``type``, ``cluster_ip``, ``external_ip``
    (load-balancer ingress and ``externalIPs``, ``<pending>`` for a LoadBalancer without
    one, the DNS name of an ExternalName), ``ports`` as kubectl prints them
    (``80:30080/TCP,443/TCP``) with the first split into ``port``, ``node_port``,
    ``protocol``, and ``selector`` (``k=v,...``, keys sorted). ``kind`` and ``age`` stay
    empty; ``created`` holds the creation time.
    """
    rows = []
    for item in _objects(output, "Service"):
        spec = _get(item, "spec", default={}) or {}
        kind = spec.get("type") or "ClusterIP"
        external = [str(i) for i in (spec.get("externalIPs") or [])]
        external += [i.get("ip") or i.get("hostname") for i in
                     _list(item, "status", "loadBalancer", "ingress")]
        if kind == "ExternalName":
            external = [spec.get("externalName")]
        elif kind == "LoadBalancer" and not external:
            external = ["<pending>"]
        ports = _list(spec, "ports")
        first = ports[0] if ports else {}
        selector = spec.get("selector") or {}
        if not isinstance(selector, dict):
            raise fail("spec.selector should be a mapping of labels")
        rows.append({**_meta(item), "type": kind, "cluster_ip": spec.get("clusterIP"),
                     "external_ip": ",".join(e for e in external if e) or None,
                     "ports": _service_ports(ports),
                     "port": _number(first.get("port"), "port"),
                     "node_port": _number(first.get("nodePort"), "nodePort"),
                     "protocol": first.get("protocol", "TCP") if first else None,
                     "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items()))
                     or None})
    return frame(rows, {**SERVICE_COLUMNS, **_TIME_COLUMN})


@parser("kubectl get endpoints", "kubectl get ep", form="json")
def kubectl_get_endpoints_json(output: str) -> pd.DataFrame:
    """``kubectl get ep -o json`` (or ``-o yaml``): the Endpoints objects, one row each.

    Same columns as :func:`kubectl_get_endpoints`, in kubectl's order (subset by subset,
    port by port, the ready addresses of each): ``endpoints`` (``ip:port,...``, all of them:
    ``more`` is 0), ``endpoint_ips`` and ``endpoint_ports`` (None for a subset without
    ports). Addresses that are not ready (``notReadyAddresses``) are left out, as kubectl
    leaves them out. ``kind`` and ``age`` stay empty; ``created`` holds the creation time.
    """
    rows = []
    for item in _objects(output, "Endpoints"):
        ips, ports = [], []
        for subset in _list(item, "subsets"):
            addresses = [str(a.get("ip")) for a in _list(subset, "addresses")]
            numbers = [_number(p.get("port"), "port") for p in _list(subset, "ports")]
            for number in numbers or [None]:
                ips += addresses
                ports += [number] * len(addresses)
        cells = [ip if port is None else f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"
                 for ip, port in zip(ips, ports, strict=True)]
        rows.append({**_meta(item), "endpoints": ",".join(cells) or None,
                     "endpoint_ips": ips, "endpoint_ports": ports, "more": 0})
    return frame(rows, {**ENDPOINT_COLUMNS, **_TIME_COLUMN})
