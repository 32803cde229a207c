"""Building the study's lab on this machine: a kind cluster (infra/kind/cluster.yaml) with
Cilium 1.16.3 installed by the helm command line with the seed's values, then waiting until
every agent's `cilium status` is healthy.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tqdm.auto import tqdm

from labkit.errors import LabError

CLUSTER = "labkit"
CONTEXT = f"kind-{CLUSTER}"
CILIUM_VERSION = "1.16.3"
CILIUM_REPO = "https://helm.cilium.io/"
INFRA = Path(__file__).resolve().parents[2] / "infra"
KIND_CONFIG = INFRA / "kind" / "cluster.yaml"
VALUES = [INFRA / "cilium" / "values.yaml", INFRA / "kind" / "cilium-kind.yaml"]

TOOLS = {
    "docker": "runs kind's nodes as containers: https://docs.docker.com/engine/install/ "
              "(Debian/Ubuntu: sudo apt-get install docker.io; then add yourself to the "
              "docker group)",
    "kind": "creates the cluster: https://kind.sigs.k8s.io/docs/user/quick-start/#installation "
            "(or: go install sigs.k8s.io/kind@v0.24.0)",
    "helm": "installs Cilium: https://helm.sh/docs/intro/install/ (or: curl -fsSL "
            "https://raw.githubusercontent.com/helm/helm/main/scripts/get-helm-3 | bash)",
}


def missing_tools(which: Callable[[str], str | None] | None = None) -> dict[str, str]:
    """The tools `labkit cluster up` needs that are not on PATH, with how to install each."""
    which = which or shutil.which
    return {tool: how for tool, how in TOOLS.items() if which(tool) is None}


def require_tools(which: Callable[[str], str | None] | None = None) -> None:
    missing = missing_tools(which)
    if missing:
        raise LabError("labkit cluster up needs " + ", ".join(missing) + " on PATH:\n"
                       + "\n".join(f"  {tool}: {how}" for tool, how in missing.items()))


def create_argv() -> list[str]:
    return ["kind", "create", "cluster", "--config", str(KIND_CONFIG), "--wait", "0s"]


def install_argv() -> list[list[str]]:
    """The helm commands: the repository, then an idempotent install (upgrade --install)."""
    values = [arg for path in VALUES for arg in ("--values", str(path))]
    return [["helm", "repo", "add", "cilium", CILIUM_REPO, "--force-update"],
            ["helm", "upgrade", "--install", "cilium", "cilium/cilium", "--version",
             CILIUM_VERSION, "--namespace", "kube-system", "--kube-context", CONTEXT, *values]]


def delete_argv() -> list[str]:
    return ["kind", "delete", "cluster", "--name", CLUSTER]


def _run(argv: list[str]) -> None:
    """Runs a tool with its own output on the terminal (kind and helm show their progress)."""
    done = subprocess.run(argv, check=False)
    if done.returncode != 0:
        raise LabError(f"{' '.join(argv[:3])} ... failed (exit {done.returncode}); its "
                       "output is above")


def exists() -> bool:
    found = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True)
    return CLUSTER in found.stdout.split()


def wait_healthy(lab, nodes: int = 3, timeout: float = 600.0, progress: bool = True) -> None:
    """Waits until an agent runs on every node and each one's `cilium status --brief` says
    OK; a timeout says which node is not there yet."""
    bar = tqdm(total=nodes, desc="cilium healthy", unit="node", disable=not progress)
    deadline = time.monotonic() + timeout
    healthy: set[str] = set()
    last = "no agent pod yet"
    try:
        while len(healthy) < nodes:
            for node in lab.agent_nodes():
                if node in healthy:
                    continue
                try:
                    agent = lab.agent(node)
                    status = agent.run([agent.cilium_program, "status", "--brief"],
                                       check=False, timeout=30)
                except LabError as e:
                    last = f"{node}: {e}"
                    continue
                if status.returncode == 0 and status.stdout.strip() == "OK":
                    healthy.add(node)
                    bar.update()
                else:
                    last = f"{node}: {(status.stdout + status.stderr).strip()[:200]}"
            if len(healthy) < nodes:
                if time.monotonic() > deadline:
                    raise LabError(f"Cilium not healthy after {timeout} s ({last}); look at "
                                   "`kubectl -n kube-system get pods -l k8s-app=cilium`")
                time.sleep(5)
    finally:
        bar.close()


def up(progress: bool = True) -> None:
    """Creates the kind cluster (unless it exists) and installs or upgrades Cilium."""
    require_tools()
    if not KIND_CONFIG.is_file():
        raise LabError(f"{KIND_CONFIG} is missing: run `labkit cluster up` from a labkit "
                       "checkout (infra/ holds the kind config and the Helm values)")
    if not exists():
        _run(create_argv())
    for argv in install_argv():
        _run(argv)
    from labkit.cluster.lab import ClusterLab  # noqa: PLC0415 - kubernetes loads slowly

    wait_healthy(ClusterLab(context=CONTEXT), progress=progress)


def down() -> None:
    require_tools(lambda tool: shutil.which(tool) if tool != "helm" else "not needed")
    _run(delete_argv())
