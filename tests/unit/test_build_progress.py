"""What a build prints while images build side by side: step lines, long steps, the final table."""

from __future__ import annotations

import io
import threading

import pytest

from builder.image import build, progress

LONG_RUN = "RUN set -eux; " + "apt-get install -y --no-install-recommends python3; " * 80


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "Step 1/9 : FROM 127.0.0.1:5000/library/debian@sha256:" + "1" * 64,
            ("step 1/9", "step 1/9 FROM 127.0.0.1:5000/library/debian@sha256:" + "1" * 64),
        ),
        ("Step 2/9 : LABEL a=b", ("step 2/9", "step 2/9 LABEL a=b")),
        ("Step 3/9 : RUN   apt-get    update", ("step 3/9", "step 3/9 RUN apt-get update")),
        (
            f"Step 4/9 : {LONG_RUN}",
            (
                "step 4/9",
                "step 4/9 RUN set -eux; apt-get install -y --no-install-recommends python3; apt-get install -y "
                "--no-install-recommends python3; ap... (4,173 characters)",
            ),
        ),
        ("Step 5/9 : RUN echo one\necho two", ("step 5/9", "step 5/9 RUN echo one... (21 characters)")),
        (" ---> Running in 0123456789ab", None),
        ("Step x/9 : RUN true", None),
        ("Removing intermediate container 0123456789ab", None),
    ],
    ids=["from", "label", "blanks", "long-run", "two-lines", "output", "not-a-step", "removing"],
)
def test_a_step_prints_as_one_short_line(line: str, expected: tuple[str, str] | None) -> None:
    assert progress.step_line(line) == expected


def test_a_step_line_is_short_whatever_the_instruction() -> None:
    found = progress.step_line(f"Step 4/9 : {LONG_RUN}")
    assert found is not None
    assert len(found[1]) < 160 < len(LONG_RUN)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (0.4, "0s"),
        (59.4, "59s"),
        (60, "1m00s"),
        (123, "2m03s"),
        (3599, "59m59s"),
        (3720, "1h02m"),
    ],
)
def test_elapsed_time(seconds: float, text: str) -> None:
    assert progress.elapsed(seconds) == text


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_long_step_is_named_again_with_its_image_and_elapsed_time() -> None:
    lines: list[str] = []
    clock = Clock()
    shown = progress.Progress(lines.append, clock, long_step=30)
    shown.start("python/distroless", "step 4/9", "step 4/9 RUN apt-get update")
    clock.now += 10
    shown.start("curl", "step 2/5", "step 2/5 RUN true")
    clock.now += 19
    shown.tick()  # 29 s: not long yet
    clock.now += 1
    shown.tick()
    shown.tick()  # named once per LONG_STEP, not on every tick
    clock.now += 15
    shown.finish("python/distroless", "pushed after 4m12s")
    clock.now += 15
    shown.tick()
    assert lines == [
        "[python/distroless] step 4/9 RUN apt-get update",
        "[curl] step 2/5 RUN true",
        "[python/distroless] step 4/9 still running after 30s",
        "[python/distroless] pushed after 4m12s",
        "[curl] step 2/5 still running after 50s",
    ]


def test_ticking_names_long_steps_from_a_background_thread() -> None:
    lines: list[str] = []
    named = threading.Event()

    def write(line: str) -> None:
        lines.append(line)
        if "still running" in line:
            named.set()

    shown = progress.Progress(write, long_step=0)
    with shown.ticking(interval=0.01):
        shown.start("curl", "step 1/2", "step 1/2 FROM x")
        assert named.wait(10)
    assert lines[0] == "[curl] step 1/2 FROM x"
    assert lines[1].startswith("[curl] step 1/2 still running after ")


class Recorder(io.StringIO):
    """A stream that keeps each write apart."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[str] = []

    def write(self, text: str) -> int:
        self.writes.append(text)
        return len(text)


def test_each_line_is_one_write_so_lines_of_two_images_never_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = Recorder()
    monkeypatch.setattr("sys.stderr", stream)

    def lines(n: int) -> None:
        for i in range(50):
            build.print_log(f"[image{n}] line {i}")

    threads = [threading.Thread(target=lines, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stream.writes) == 200
    assert all(text.endswith("\n") and text.count("\n") == 1 for text in stream.writes)


def test_a_log_line_is_escaped() -> None:
    stream = Recorder()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stderr", stream)
        build.print_log("[x] \x1b]0;title\x07 ::error::no")
    assert stream.writes == ["[x] \\x1b]0;title\\x07 ::error::no\n"]


def test_the_final_table_has_each_image_its_result_time_and_a_failed_logs_last_lines() -> None:
    tail = [f"log line {n}" for n in range(1, 13)] + ["E: " + "x" * 500]
    outcomes = [
        build.Outcome("debian-base", "pushed", "127.0.0.1:5000/base/debian-base@sha256:ab", seconds=72.4),
        build.Outcome("python/distroless", "failed", "build of candidate failed: exit 100", tail=tail, seconds=47),
        build.Outcome("python", "skipped", "parent debian-base did not build"),
    ]
    assert build.result_table(outcomes) == [
        "result     time  image              detail",
        "pushed    1m12s  debian-base        127.0.0.1:5000/base/debian-base@sha256:ab",
        "failed      47s  python/distroless  build of candidate failed: exit 100",
        *[f"                 | log line {n}" for n in range(4, 13)],
        "                 | E: " + "x" * 157 + "... (503 characters)",
        "skipped       -  python             parent debian-base did not build",
    ]


def test_the_step_summary_has_each_image_time() -> None:
    outcomes = [
        build.Outcome("curl", "pushed", "a|b", seconds=61),
        build.Outcome("python", "skipped", "parent debian-base did not build"),
    ]
    assert build.summary_markdown(outcomes) == (
        "### builder build\n\n| image | result | time | detail |\n|---|---|---|---|\n"
        "| `curl` | pushed | 1m01s | a\\|b |\n| `python` | skipped | - | parent debian-base did not build |\n"
    )
