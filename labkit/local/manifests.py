"""Kubernetes YAML -> the objects the local lab builds: pods (also from Deployments) and services.

Accepts what ``kubectl apply -f`` would for these kinds: a path or YAML text, several documents,
``kind: List``. Anything else is a ManifestError that names the document and what is wrong.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from labkit.errors import ManifestError, UnsupportedImageError

# image (without registry, tag or digest) -> how the lab runs it
IMAGES = {
    "nicolaka/netshoot": "tools",
    "busybox": "tools",
    "alpine": "tools",
    "ubuntu": "tools",
    "debian": "tools",
    "traefik/whoami": "whoami",
}
NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
REFERENCE = re.compile(r"^(pod|pods|po|service|services|svc|deployment|deployments|deploy)/(\S+)$")
SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class PodSpec:
    name: str
    namespace: str = "default"
    labels: dict = field(default_factory=dict)
    node: str | None = None
    image: str = ""
    runtime: str = "tools"
    containers: tuple[str, ...] = ()
    port: int = 80  # where a whoami pod listens
    owner: str | None = None  # "deployment/<name>" for a Deployment's pods

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def fingerprint(self) -> str:
        """What, if changed, means the pod must be recreated (labels can change in place)."""
        d = asdict(self)
        d.pop("labels")
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ServicePort:
    name: str | None
    port: int
    target_port: int | str
    protocol: str = "TCP"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    namespace: str = "default"
    type: str = "ClusterIP"
    cluster_ip: str | None = None
    ports: tuple[ServicePort, ...] = ()
    selector: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    namespace: str
    pods: tuple[PodSpec, ...]

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Reference:
    """``kind/name`` as given to delete(), e.g. 'pod/netpod' or 'svc/svc'."""

    kind: str
    namespace: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


Object = PodSpec | ServiceSpec | DeploymentSpec


def load(source: str | Path) -> list[Object]:
    """Read a path or YAML text into lab objects, in document order."""
    text, origin = _read(source)
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise ManifestError(f"{origin} is not valid YAML: {exc}") from exc
    if not docs:
        raise ManifestError(f"{origin} holds no Kubernetes objects")
    objects: list[Object] = []
    for i, doc in enumerate(_flatten(docs, origin), 1):
        objects.append(_object(doc, f"{origin}, document {i}"))
    return objects


def reference(text: str) -> Reference | None:
    match = REFERENCE.match(text.strip())
    if not match:
        return None
    kind = {"po": "pod", "svc": "service", "deploy": "deployment"}.get(
        match[1], match[1].rstrip("s")
    )
    namespace, _, name = match[2].rpartition("/")
    return Reference(kind, namespace or "default", name)


def image_runtime(image: str, pod: str) -> str:
    base = image.split("@")[0]
    last = base.rsplit("/", 1)[-1]
    if ":" in last:
        base = base[: base.rindex(":")]
    for registry in ("docker.io/library/", "docker.io/", "library/"):
        base = base.removeprefix(registry)
    if base not in IMAGES:
        raise UnsupportedImageError(
            f"pod {pod}: the local lab cannot run image {image!r}; it runs "
            f"{', '.join(sorted(IMAGES))} (tool images run the machine's own tools, "
            "traefik/whoami runs labkit's whoami server); use one of those or the cluster lab"
        )
    return IMAGES[base]


def _read(source: str | Path) -> tuple[str, str]:
    if isinstance(source, Path):
        path = source
    elif "\n" not in source and source.strip().endswith((".yaml", ".yml", ".json")):
        path = Path(source.strip())
    else:
        return source, "the YAML given"
    try:
        return path.read_text(), str(path)
    except OSError as exc:
        raise ManifestError(
            f"cannot read {path}: {exc.strerror}; give a path or YAML text"
        ) from exc


def _flatten(docs: list, origin: str) -> list[dict]:
    out = []
    for doc in docs:
        if not isinstance(doc, dict):
            raise ManifestError(f"{origin}: a document is {type(doc).__name__}, not a mapping")
        if doc.get("kind") == "List":
            out += _flatten(doc.get("items") or [], origin)
        else:
            out.append(doc)
    return out


def _object(doc: dict, where: str) -> Object:
    kind = doc.get("kind")
    meta = doc.get("metadata") or {}
    name = meta.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise ManifestError(f"{where}: metadata.name must be a DNS name, got {name!r}")
    namespace = meta.get("namespace") or "default"
    spec = doc.get("spec") or {}
    if kind == "Pod":
        return _pod(name, namespace, meta.get("labels") or {}, spec, None, where)
    if kind == "Service":
        return _service(name, namespace, spec, where)
    if kind == "Deployment":
        return _deployment(name, namespace, spec, where)
    raise ManifestError(
        f"{where}: kind {kind!r} is not something the local lab builds; it understands "
        "Pod, Deployment and Service (and List of them)"
    )


def _pod(name, namespace, labels, spec, owner, where) -> PodSpec:
    containers = spec.get("containers") or []
    if not containers or not all(isinstance(c, dict) and c.get("image") for c in containers):
        raise ManifestError(f"{where}: pod {name} needs spec.containers with an image each")
    runtimes = {image_runtime(c["image"], name) for c in containers}
    runtime = "whoami" if "whoami" in runtimes else "tools"
    port = 80
    for c in containers:
        args = [str(a) for a in (c.get("args") or [])]
        for i, arg in enumerate(args):
            if arg.lstrip("-") == "port" and i + 1 < len(args):
                port = int(args[i + 1])
            elif arg.lstrip("-").startswith("port="):
                port = int(arg.split("=", 1)[1])
    node = spec.get("nodeName")
    return PodSpec(
        name=name,
        namespace=namespace,
        labels={str(k): str(v) for k, v in labels.items()},
        node=node,
        image=containers[0]["image"],
        runtime=runtime,
        containers=tuple(str(c.get("name", f"c{i}")) for i, c in enumerate(containers)),
        port=port,
        owner=owner,
    )


def _service(name, namespace, spec, where) -> ServiceSpec:
    kind = spec.get("type", "ClusterIP")
    if kind != "ClusterIP":
        raise ManifestError(
            f"{where}: service {name} has type {kind}; the local lab makes ClusterIP services"
        )
    ports = []
    for p in spec.get("ports") or []:
        if "port" not in p:
            raise ManifestError(f"{where}: service {name} has a port without 'port'")
        ports.append(ServicePort(p.get("name"), int(p["port"]), p.get("targetPort", p["port"]),
                                 p.get("protocol", "TCP")))
    if not ports:
        raise ManifestError(f"{where}: service {name} needs at least one entry in spec.ports")
    return ServiceSpec(name, namespace, kind, spec.get("clusterIP"), tuple(ports),
                       {str(k): str(v) for k, v in (spec.get("selector") or {}).items()})


def _deployment(name, namespace, spec, where) -> DeploymentSpec:
    template = spec.get("template") or {}
    labels = (template.get("metadata") or {}).get("labels") or {}
    replicas = int(spec.get("replicas", 1))
    pod_spec = template.get("spec") or {}
    template_hash = _suffix(json.dumps(template, sort_keys=True), 10)
    pods = tuple(
        _pod(f"{name}-{template_hash}-{_suffix(f'{name}/{i}', 5)}", namespace, labels, pod_spec,
             f"deployment/{name}", where)
        for i in range(replicas)
    )
    return DeploymentSpec(name, namespace, pods)


def _suffix(seed: str, length: int) -> str:
    """A stable name suffix in Kubernetes' alphabet, so reapplying gives the same pod names."""
    digest = hashlib.sha256(seed.encode()).digest()
    return "".join(SUFFIX_ALPHABET[b % len(SUFFIX_ALPHABET)] for b in digest[:length])
