"""kubectl-style tables of the lab's objects: the columns ``kubectl get ... -o wide`` prints,
in snake_case, so a notebook shows the same thing on both labs."""

from __future__ import annotations

import pandas as pd

POD_COLUMNS = ["name", "ready", "status", "restarts", "age", "ip", "node", "nominated_node",
               "readiness_gates"]
NODE_COLUMNS = ["name", "status", "roles", "age", "version", "internal_ip", "external_ip",
                "os_image", "kernel_version", "container_runtime"]
SERVICE_COLUMNS = ["name", "type", "cluster_ip", "external_ip", "ports", "age", "selector"]
ENDPOINT_COLUMNS = ["name", "endpoints", "age"]


def age(seconds: float) -> str:
    """Kubernetes' human duration: 45s, 3m20s, 15m, 4h12m, 2d3h, 30d."""
    s = max(0, int(seconds))
    m, h, d = s // 60, s // 3600, s // 86400
    if s < 120:
        return f"{s}s"
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if h < 3:
        return f"{m}m"
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if d < 8:
        return f"{d}d{h % 24}h" if h % 24 else f"{d}d"
    return f"{d}d"


def frame(rows: list[dict], columns: list[str], all_namespaces: bool) -> pd.DataFrame:
    if all_namespaces:
        columns = ["namespace", *columns]
    df = pd.DataFrame(rows, columns=columns)
    if "restarts" in df:
        df["restarts"] = df["restarts"].astype("int64")
    return df.reset_index(drop=True)


def ports_text(ports: list[dict]) -> str:
    return ",".join(f"{p['port']}/{p['protocol']}" for p in ports) or "<none>"


def selector_text(selector: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(selector.items())) or "<none>"


def endpoints_text(addresses: list[str]) -> str:
    if not addresses:
        return "<none>"
    shown = ",".join(addresses[:3])
    return shown + (f" + {len(addresses) - 3} more..." if len(addresses) > 3 else "")
