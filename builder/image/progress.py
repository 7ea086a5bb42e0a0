"""What a build prints while several images build at once, and its final table.

Each line names its image and is written whole under one lock, so the output of images
built side by side never interleaves within a line. A build step prints one short line
(an instruction of thousands of characters is cut, with its length); a step that runs
long is named again with its elapsed time, so a quiet CI log still shows who is working.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

# The classic builder announces each instruction as `Step N/M : INSTRUCTION`.
_STEP = re.compile(r"Step (\d+)/(\d+) : (.*)", re.DOTALL)
SHOWN = 120  # characters of an instruction (or a log line) shown on one line
LONG_STEP = 30.0  # seconds before a running step is named again, then as often
TAIL_SHOWN = 10  # last lines of a failed build's log in the final table
TAIL_WIDTH = 160


def shorten(text: str, width: int = SHOWN) -> str:
    """The first line of `text`, blanks collapsed, cut to `width` characters with the full length."""
    lines = text.strip().splitlines()
    first = " ".join(lines[0].split()) if lines else ""
    if len(first) <= width and len(lines) <= 1:
        return first
    return f"{first[:width].rstrip()}... ({len(text.strip()):,} characters)"


def step_line(line: str) -> tuple[str, str] | None:
    """A build log line announcing a step, as (label, line to print); None for any other line."""
    found = _STEP.fullmatch(line.strip())
    if found is None:
        return None
    number, total, instruction = found.groups()
    label = f"step {number}/{total}"
    return label, f"{label} {shorten(instruction)}"


def elapsed(seconds: float) -> str:
    """47s, 2m03s, 1h02m."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


@dataclass
class _Running:
    label: str
    started: float
    named: float  # when its line was last printed


class Progress:
    """Lines about the images of a build, prefixed `[IMAGE]`, from any thread."""

    def __init__(
        self, write: Callable[[str], None], clock: Callable[[], float] = time.monotonic, long_step: float = LONG_STEP
    ) -> None:
        self._write = write
        self._clock = clock
        self._long = long_step
        self._lock = threading.Lock()
        self._running: dict[str, _Running] = {}

    def say(self, image: str, text: str) -> None:
        with self._lock:
            self._write(f"[{image}] {text}")

    def start(self, image: str, label: str, text: str) -> None:
        """`image` begins `label` (a build step, or checking, pushing): printed now, and again while it runs long."""
        now = self._clock()
        with self._lock:
            self._running[image] = _Running(label, now, now)
            self._write(f"[{image}] {text}")

    def finish(self, image: str, text: str) -> None:
        with self._lock:
            self._running.pop(image, None)
            self._write(f"[{image}] {text}")

    def tick(self) -> None:
        """Name each step that has run LONG_STEP seconds since it was last named, with its elapsed time."""
        now = self._clock()
        with self._lock:
            for image, running in sorted(self._running.items()):
                if now - running.named >= self._long:
                    running.named = now
                    self._write(f"[{image}] {running.label} still running after {elapsed(now - running.started)}")

    @contextmanager
    def ticking(self, interval: float = 5.0) -> Iterator[None]:
        """Call tick() every `interval` seconds in a background thread while the block runs."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                self.tick()

        thread = threading.Thread(target=loop, name="build-progress", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()


@dataclass(frozen=True)
class Row:
    image: str
    status: str
    seconds: float | None  # None: never started (skipped)
    detail: str
    tail: Sequence[str] = ()


def table(rows: Sequence[Row]) -> list[str]:
    """The final table: each image's result, time and detail; under a failure, the last lines of its log."""
    width = max([len("image"), *(len(row.image) for row in rows)])
    lines = [f"{'result':<8} {'time':>6}  {'image':<{width}}  detail"]
    for row in rows:
        took = "-" if row.seconds is None else elapsed(row.seconds)
        lines.append(f"{row.status:<8} {took:>6}  {row.image:<{width}}  {row.detail}".rstrip())
        lines.extend(f"{'':<8} {'':>6}  | {shorten(line, TAIL_WIDTH)}" for line in row.tail[-TAIL_SHOWN:])
    return lines
