"""Recording a lab session: every command a lab runs, and every table it reads, as JSON lines.

``recording(lab, path)`` wraps either lab (``LABKIT_RECORD=path`` makes ``connect()`` do it).
Each line is one call: what ran where, and what came back. Secrets are redacted before
anything is written (tokens, certificates and private keys, bearer and basic credentials,
passwords in URLs), so a transcript of a real cluster can be shared with a class; the replay
lab (labkit.cluster.replay) answers from it.
"""

from __future__ import annotations

import copy
import inspect
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from labkit.local.process import ExecResult, as_argv

REDACTED = "<redacted>"
_SECRETS = [
    # PEM blocks: certificates, private keys (RSA, EC, PKCS#8), in one piece
    (re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S), "<redacted \\1>"),
    # the same base64-encoded, as kubeconfigs and Secrets carry them ("-----BEGIN...")
    (re.compile(r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]*"), REDACTED),
    # JSON Web Tokens (service-account tokens)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    # Authorization: Bearer ... / Basic ...
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{6,}"), f"\\1\\2{REDACTED}"),
    # user:password@ in URLs
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://)[^/\s:@]+:[^/\s@]+@"), f"\\1{REDACTED}@"),
    # key: value and key=value for secret-bearing keys (kubeconfig, env, flags)
    (re.compile(r"(?i)((?:\"|\b)(?:token|id-token|refresh-token|password|passwd|secret|"
                r"client-key-data|client-certificate-data|certificate-authority-data|"
                r"api[-_]?key|access[-_]?key|auth)\"?\s*[:=]\s*\"?)([^\s\",]+)"),
     f"\\1{REDACTED}"),
]


def redact(text: str) -> str:
    """The text with every secret the patterns know replaced by <redacted>."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


def _redacted(value: object) -> object:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list | tuple):
        return [_redacted(v) for v in value]
    if isinstance(value, dict):
        return {k: _redacted(v) for k, v in value.items()}
    return value


def call_arguments(method: Callable, args: tuple, kwargs: dict) -> dict:
    """A call's arguments by name, defaults filled in: the key a table is replayed by."""
    bound = inspect.signature(method).bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def pod_where(pod: str, namespace: str = "default") -> str:
    """The place key of a pod, as both recorder and replayer spell it."""
    return f"pod {pod}" if "/" in pod else f"pod {namespace}/{pod}"


class Transcript:
    """An append-only JSON-lines file of calls, redacted on the way in."""

    def __init__(self, path: str | Path, lab: str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.write({"op": "start", "lab": lab})

    def write(self, entry: dict) -> None:
        entry = _redacted({**entry, "time": round(time.time(), 3)})
        with self.path.open("a") as f:
            f.write(json.dumps(entry, default=str) + "\n")

    def command(self, where: str, result: ExecResult) -> ExecResult:
        self.write({"op": "exec", "where": where, "argv": list(result.args),
                    "returncode": result.returncode, "stdout": result.stdout,
                    "stderr": result.stderr})
        return result

    def table(self, call: str, kwargs: dict, df: pd.DataFrame) -> pd.DataFrame:
        """A parsed table is kept as the command and the text it parsed (replay parses it
        again, types and all); any other table as its rows."""
        entry = {"op": "table", "call": call, "kwargs": kwargs, "columns": list(df.columns)}
        if "raw" in df.attrs and "command" in df.attrs:
            entry.update(command=df.attrs["command"], raw=df.attrs["raw"])
        else:
            entry["rows"] = df.astype(object).where(df.notna(), None).to_dict("records")
        self.write(entry)
        return df


def _recorded_run(transcript: Transcript, where: str, run: Callable) -> Callable:
    def run_and_record(command, *args, **kwargs):
        try:
            result = run(command, *args, **kwargs)
        except Exception as e:
            shell = kwargs.get("shell", False)
            transcript.write({"op": "error", "where": where,
                              "argv": as_argv(command, shell), "error": str(e)})
            raise
        return transcript.command(where, result)
    return run_and_record


class _RecordedMachine:
    """A lab machine whose run() is recorded; everything else passes through."""

    def __init__(self, machine, transcript: Transcript) -> None:
        self._machine = machine
        self.run = _recorded_run(transcript, f"node {machine.name}", machine.run)

    def __getattr__(self, name: str):
        return getattr(self._machine, name)


class RecordingLab:
    """Any lab, with each command it runs and each table it reads written to a transcript."""

    _TABLES = ("nodes", "pods", "services", "endpoints", "helm_values", "observe")

    def __init__(self, lab, path: str | Path) -> None:
        self._lab = lab
        self.transcript = Transcript(path, getattr(lab, "kind", type(lab).__name__))

    def __getattr__(self, name: str):
        attr = getattr(self._lab, name)
        if name in self._TABLES:
            return lambda *args, **kwargs: self.transcript.table(
                name, call_arguments(attr, args, kwargs), attr(*args, **kwargs))
        return attr

    def exec(self, pod: str, command, **kwargs) -> ExecResult:
        where = pod_where(pod, kwargs.get("namespace", "default"))
        return _recorded_run(self.transcript, where,
                             lambda c, **kw: self._lab.exec(pod, c, **kw))(command, **kwargs)

    def node(self, name: str) -> _RecordedMachine:
        return _RecordedMachine(self._lab.node(name), self.transcript)

    def agent(self, node: str):
        """The lab's agent, on a copy whose run() is recorded (the lab's own stays as is)."""
        agent = copy.copy(self._lab.agent(node))
        self.transcript.write({"op": "agent", "node": node,
                               "cilium_program": agent.cilium_program})
        agent.run = _recorded_run(self.transcript, f"agent {node}", agent.run)
        return agent

    def pod_ip(self, pod: str, namespace: str = "default") -> str:
        ip = self._lab.pod_ip(pod, namespace)
        self.transcript.write({"op": "pod_ip", "where": pod_where(pod, namespace), "ip": ip})
        return ip

    def apply(self, source, **kwargs) -> list[str]:
        lines = self._lab.apply(source, **kwargs)
        self.transcript.write({"op": "apply", "source": str(source), "lines": lines})
        return lines

    def delete(self, source, **kwargs) -> list[str]:
        lines = self._lab.delete(source, **kwargs)
        self.transcript.write({"op": "delete", "source": str(source), "lines": lines})
        return lines

    def __repr__(self) -> str:
        return f"<recording {self._lab!r} to {self.transcript.path}>"


def recording(lab, path: str | Path | None):
    """The lab itself when path is empty, else the lab wrapped by a RecordingLab."""
    return RecordingLab(lab, path) if path else lab
