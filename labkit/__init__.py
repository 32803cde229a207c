"""labkit: see how Cilium moves packets, on a real cluster or on a local lab.

The public face is small: ``labkit.parse`` turns a command's output into a DataFrame,
``labkit.parsers`` holds one function per command, ``labkit.ParseError`` is what bad
output raises, ``labkit.connect()`` returns the lab the notebooks talk to.
"""

from labkit.connection import connect
from labkit.errors import LabError, LabkitError, ParseError
from labkit.parsers import parse

__all__ = ["LabError", "LabkitError", "ParseError", "connect", "parse"]
__version__ = "0.1.0"
