"""Which images a command's NAME arguments select."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.core.errors import UsageError
from builder.recipe.graph import select
from tests.support.channel import load_channel


def test_a_name_is_its_whole_line_unless_exact(channel_copy: Path) -> None:
    _, channel = load_channel(channel_copy, environ={})
    assert select(channel, ["python"]) == ["python", "python/dev", "python/distroless", "python/distroless-debug"]
    # A plan matrix lists image ids: each build job builds its own image, never its siblings too.
    assert select(channel, ["python"], exact=True) == ["python"]
    assert select(channel, ["python/distroless"], exact=True) == ["python/distroless"]
    with pytest.raises(UsageError, match="no image named 'pyhton' in the channel; did you mean 'python'"):
        select(channel, ["pyhton"], exact=True)
