"""Which images a command's NAME arguments select."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli.commands import _select
from builder.core.errors import UsageError
from tests.support.channel import load_channel


def test_a_name_is_its_whole_line_unless_exact(channel_copy: Path) -> None:
    _, channel = load_channel(channel_copy, environ={})
    assert _select(channel, ["python"]) == ["python", "python/dev", "python/distroless", "python/distroless-debug"]
    # A plan matrix lists image ids: each build job builds its own image, never its siblings too.
    assert _select(channel, ["python"], exact=True) == ["python"]
    assert _select(channel, ["python/distroless"], exact=True) == ["python/distroless"]
    with pytest.raises(UsageError, match="no image named 'pyhton' in the channel; did you mean 'python'"):
        _select(channel, ["pyhton"], exact=True)
