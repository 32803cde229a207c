"""The errors labkit raises: each says what happened and what to do about it."""

from __future__ import annotations


class LabkitError(Exception):
    """Base of every error labkit raises on purpose."""


class ParseError(LabkitError, ValueError):
    """A command's output held something the parser does not understand.

    It quotes the offending line and its number (1-based, in the output as given), so a
    learner can see at once which line of a pasted output is the problem.
    """

    def __init__(
        self,
        message: str,
        *,
        line: str | None = None,
        line_number: int | None = None,
        parser: str | None = None,
    ) -> None:
        self.message = message
        self.line = line
        self.line_number = line_number
        self.parser = parser
        where = f"{parser}: " if parser else ""
        if line_number is not None:
            where += f"line {line_number}: "
        quoted = f": {line!r}" if line is not None else ""
        super().__init__(f"{where}{message}{quoted}")


class LabError(LabkitError):
    """A lab could not do what was asked; the message says what to do instead."""


class NotRootError(LabError):
    """The local lab needs root: it creates namespaces, veths and cgroups."""


class UnknownPodError(LabError, KeyError):
    """No pod of that name in the lab."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class UnknownNodeError(LabError, KeyError):
    """No node (or lab machine) of that name."""

    def __str__(self) -> str:
        return str(self.args[0])


class UnsupportedImageError(LabError):
    """A pod asks for an image the local lab has no stand-in for."""


class ManifestError(LabError, ValueError):
    """YAML given to apply() or delete() that the lab cannot read or does not support."""


class ExecTimeout(LabError, TimeoutError):
    """A command run in a pod or on a node did not finish in time."""


class CommandFailed(LabError):
    """A command exited non-zero and the caller asked for check=True."""

    def __init__(self, message: str, *, returncode: int, stdout: str, stderr: str) -> None:
        super().__init__(message)
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr


class ClusterUnreachableError(LabError):
    """The cluster lab could not load a kubeconfig or reach the API server."""


class AgentNotFoundError(LabError):
    """No running Cilium agent pod (k8s-app=cilium) on the node asked for."""


class ReplayMissError(LabError, KeyError):
    """A replay lab was asked for a command its transcript does not hold."""

    def __str__(self) -> str:
        return str(self.args[0])
