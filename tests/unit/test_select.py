"""Which images a command's NAME arguments select."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.cli.commands import _select
from builder.core import settings
from builder.core.errors import UsageError
from builder.recipe import graph
from builder.recipe import load as recipes


def test_a_name_is_its_whole_line_unless_exact(channel_copy: Path) -> None:
    config = settings.load(channel_copy, environ={})
    channel = graph.build(recipes.load_dir(config.recipes_dir, channel_copy))
    assert _select(channel, ["python"]) == ["python", "python/distroless", "python/distroless-debug"]
    # A plan matrix lists image ids: each build job builds its own image, never its siblings too.
    assert _select(channel, ["python"], exact=True) == ["python"]
    assert _select(channel, ["python/distroless"], exact=True) == ["python/distroless"]
    with pytest.raises(UsageError, match="no image named 'pyhton' in the channel; did you mean 'python'"):
        _select(channel, ["pyhton"], exact=True)
