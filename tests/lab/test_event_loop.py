"""The local lab comes up from inside a running asyncio loop, as a Jupyter kernel runs cells
(notebook 00 brings the lab up after notebook 09 took it down)."""

from __future__ import annotations

import asyncio

import pytest

pytestmark = pytest.mark.root


def test_the_lab_comes_up_inside_a_running_event_loop_as_in_a_jupyter_kernel(_session_lab):
    _session_lab.down()

    async def cell() -> None:
        _session_lab.up(progress=False)

    asyncio.run(cell())
    assert _session_lab.is_up()
