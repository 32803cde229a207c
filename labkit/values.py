"""The seed's Helm values (chapter 01): each with what it does and the agent setting it becomes.

They are read from infra/cilium/values.yaml, the very file ``labkit cluster up`` installs
Cilium with, where a comment above each value says what it does. A comment explains the
values under it until a blank line or the next comment.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import yaml

from labkit.errors import LabError

VALUES_FILE = Path(__file__).resolve().parents[1] / "infra" / "cilium" / "values.yaml"
#: the key of ``cilium config view`` (the cilium-config ConfigMap) a Helm value becomes;
#: None where a value deploys something (Hubble UI, an operator replica) rather than
#: configuring the agent
CONFIG_KEYS: dict[str, str | None] = {
    "k8sServiceHost": None,
    "k8sServicePort": None,
    "debug.enabled": "debug",
    "rollOutCiliumPods": None,
    "routingMode": "routing-mode",
    "autoDirectNodeRoutes": "auto-direct-node-routes",
    "ipv4NativeRoutingCIDR": "ipv4-native-routing-cidr",
    "bpf.masquerade": "enable-bpf-masquerade",
    "bpf.hostRouting": None,
    "endpointRoutes.enabled": "enable-endpoint-routes",
    "ipam.mode": "ipam",
    "k8s.requireIPv4PodCIDR": "k8s-require-ipv4-pod-cidr",
    "kubeProxyReplacement": "kube-proxy-replacement",
    "installNoConntrackIptablesRules": "install-no-conntrack-iptables-rules",
    "hubble.relay.enabled": None,
    "hubble.ui.enabled": None,
    "hubble.metrics.enableOpenMetrics": "enable-hubble-open-metrics",
    "hubble.metrics.enabled": "hubble-metrics",
    "prometheus.enabled": "prometheus-serve-addr",
    "operator.prometheus.enabled": "operator-prometheus-serve-addr",
    "operator.replicas": None,
    "ipMasqAgent.enabled": "enable-ip-masq-agent",
}
_KEY = re.compile(r"^(\s*)([A-Za-z0-9_.-]+):(?:\s+(.*))?$")


def comments(text: str) -> dict[str, str]:
    """Each key path (``bpf.masquerade``) of a values file -> the comment that explains it."""
    found: dict[str, str] = {}
    stack: list[tuple[int, str]] = []
    block: list[str] = []
    current = ""
    after_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            current, block, after_comment = "", [], False
        elif stripped.startswith("#"):
            if not after_comment:
                block = []
            block.append(stripped.lstrip("#").strip())
            current, after_comment = " ".join(block), True
        elif match := _KEY.match(line):
            after_comment = False
            indent = len(match[1])
            while stack and stack[-1][0] >= indent:
                stack.pop()
            stack.append((indent, match[2]))
            found[".".join(k for _, k in stack)] = current
    return found


def _flatten(values: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            flat.update(_flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def seed_values(path: Path = VALUES_FILE) -> pd.DataFrame:
    """The seed's Helm values: key, value, what_it_does, config_key (the agent setting)."""
    if not path.is_file():
        raise LabError(f"the seed's Helm values are not at {path}; they ship with the labkit "
                       "repository (infra/cilium/values.yaml): run from a clone of it")
    text = path.read_text()
    said = comments(text)
    rows = [{"key": key, "value": _text(value), "what_it_does": said.get(key, ""),
             "config_key": CONFIG_KEYS.get(key)}
            for key, value in _flatten(yaml.safe_load(text)).items()]
    table = pd.DataFrame(rows, columns=["key", "value", "what_it_does", "config_key"])
    table.attrs["raw"] = text
    return table


def helm_command(values: pd.DataFrame, version: str = "1.16.3") -> str:
    """The ``helm install`` the seed runs, one ``--set`` per value (lists in braces)."""
    raw = yaml.safe_load(values.attrs.get("raw") or "{}") or {}
    flat = _flatten(raw)
    sets = []
    for key, value in zip(values["key"], values["value"], strict=True):
        given = flat.get(key)
        # helm splits a list on commas: a comma inside an item is escaped
        text = ("{" + ",".join(str(v).replace(",", "\\,") for v in given) + "}"
                if isinstance(given, list) else value)
        sets.append(f"  --set {key}={_quoted(text)}")
    return (f"helm install cilium cilium/cilium --version {version} --namespace kube-system \\\n"
            + " \\\n".join(sets))


def _quoted(text: str) -> str:
    return f'"{text}"' if re.search(r"[\s;{},=]", text) else text


def in_force(values: pd.DataFrame, config: pd.DataFrame) -> pd.DataFrame:
    """The seed's values beside what this lab's agent has for the same setting (``cilium
    config view``): how the lab stands against the study's install."""
    held = dict(zip(config["key"], config["value"].astype(str), strict=True))

    def on_this_lab(key: object) -> str:
        if not isinstance(key, str):  # None, or NaN in a string column
            return "(not an agent setting)"
        return held.get(key, "(not set on this lab)")

    return values.assign(this_lab=values["config_key"].map(on_this_lab))


def upgrade_preview(config: pd.DataFrame, changes: dict[str, object]) -> pd.DataFrame:
    """The agent configuration after ``helm upgrade --reuse-values --set KEY=VALUE ...``:
    each changed Helm value written to the agent setting it becomes."""
    after = dict(zip(config["key"], config["value"].astype(str), strict=True))
    for helm_key, value in changes.items():
        key = CONFIG_KEYS.get(helm_key)
        if key is None:
            raise LabError(f"{helm_key} is not a Helm value labkit maps to an agent setting; "
                           f"it maps {', '.join(k for k, v in CONFIG_KEYS.items() if v)}")
        after[key] = _text(value)
    return pd.DataFrame(sorted(after.items()), columns=["key", "value"])


def config_diff(before: pd.DataFrame, after: pd.DataFrame) -> pd.DataFrame:
    """What changed between two ``cilium config view`` tables: key, before, after."""
    old = dict(zip(before["key"], before["value"].astype(str), strict=True))
    new = dict(zip(after["key"], after["value"].astype(str), strict=True))
    rows = [{"key": k, "before": old.get(k), "after": new.get(k)}
            for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
    return pd.DataFrame(rows, columns=["key", "before", "after"])
