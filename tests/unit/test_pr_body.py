"""The bot's PR title, body and commit message: Conventional Commits, the trigger, the changelog, the size limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.channel import history
from builder.channel.history import Record
from builder.channel.lock import Lock
from builder.core.facts import BaseLock, ImageLock, Package, RecipeSnapshot, Update
from builder.github import pr_body
from tests.support.channel import load_channel

REPO = Path(__file__).resolve().parents[2]
SPEC = RecipeSnapshot(base="debian:bookworm-slim", distro="debian", packages=("python3",))
OLD = "sha256:" + "a" * 64
NEW = "sha256:" + "b" * 64
FIX = Update(name="libssl3", old="3.0.1", new="3.0.2", cves=("CVE-2026-9999", "CVE-2026-1234"))


def change(
    version: str,
    updates: tuple[Update, ...] = (),
    spec: RecipeSnapshot = SPEC,
    reasons: tuple[str, ...] = (),
    size: int = 1000,
    many: int = 0,
    distro: str = "debian",
) -> pr_body.Change:
    image = load_channel(REPO, environ={})[1].images["python"]

    def lock(v: str, digest: str, packages: dict[str, str], s: RecipeSnapshot, n: int) -> Lock:
        return Lock(
            image="python",
            version=v,
            recipe_sha256="0" * 64,
            base=BaseLock(reference="r/debian-base:1.0.0", digest="sha256:" + "1" * 64),
            result=ImageLock(repository="r/base/python", tag="candidate", digest=digest, image_id=digest, size=n),
            packages=tuple(Package(name=n, version=x, source=n, architecture="amd64") for n, x in packages.items()),
            spec=s.model_copy(update={"distro": distro}),
            updates=updates,
            reasons=reasons,
            checks=("IC001 numeric non-root user: ok: 65532:65532",),
        )

    after = {"libssl3": "3.0.2", **{f"pkg{i}": "2" for i in range(many)}}
    released = history.from_lock(
        lock("1.4.2", OLD, {"libssl3": "3.0.1"}, SPEC, 1000), "1.4.2", "2026-11-01", ("1.4.2", "1.4", "1", "latest"), {}
    )
    return pr_body.Change(
        image,
        lock(version, NEW, after, spec, size),
        Record(image="python", releases=(released,)),
        "FROM a\nUSER 1:1\n",
        "FROM b\nUSER 1:1\n",
    )


@pytest.mark.parametrize(
    ("candidate", "title"),
    [
        (change("1.4.3", (FIX,)), "fix(python): security rebuild 1.4.3 (libssl3 CVE-2026-1234 CVE-2026-9999)"),
        (change("1.4.3"), "fix(python): rebuild 1.4.3"),
        (
            change("1.4.3", reasons=(f"upstream digest moved: {OLD[:19]} -> {NEW[:19]}",)),
            "fix(python): rebuild 1.4.3 for new base digest",
        ),
        (
            change("1.4.3", (Update(name="libc6", old="1", new="2"),), reasons=("1 package update(s)",)),
            "fix(python): rebuild 1.4.3 for package updates",
        ),
        (
            change("1.4.3", (Update(name="libc6", old="1", new="2"),), reasons=("upstream digest moved: a -> b",)),
            "fix(python): rebuild 1.4.3 for new base digest and package updates",
        ),
        (
            change("1.4.3", reasons=("parent debian-base was rebuilt",)),
            "fix(python): rebuild 1.4.3 for rebuilt parent debian-base",
        ),
        (change("1.4.3", reasons=("recipe changed",)), "fix(python): rebuild 1.4.3 for recipe change"),
        (
            change("1.5.0", spec=SPEC.model_copy(update={"packages": ("python3", "python3-venv")})),
            "feat(python): 1.5.0, recipe change",
        ),
        (
            change("2.0.0", spec=SPEC.model_copy(update={"packages": ()})),
            "feat(python)!: 2.0.0, breaking recipe change",
        ),
    ],
)
def test_titles_say_what_triggered_the_rebuild(candidate: pr_body.Change, title: str) -> None:
    assert pr_body.title("python", [candidate]) == title


def test_body_says_what_a_reviewer_needs() -> None:
    text = pr_body.body("python", [change("1.4.3", (FIX,), size=1300)])
    tracker = "https://security-tracker.debian.org/tracker/"
    assert "### python 1.4.3 (patch)" in text
    assert (
        f"Security rebuild: fixes [CVE-2026-1234]({tracker}CVE-2026-1234), [CVE-2026-9999]({tracker}CVE-2026-9999)."
    ) in text
    assert "| libssl3 | 3.0.1 | 3.0.2 | CVE-2026-1234, CVE-2026-9999 |" in text
    assert f"- Image `r/base/python@{NEW}` (1.3 kB, +300 bytes); was `{OLD}` (1.4.2)\n" in text
    assert "**Tags on merge:** `1.4.3` (new, immutable); `1.4`, `1`, `latest` move to it." in text
    assert text.count("`1.4.3`") == 1  # one tags line, not a second one that says otherwise
    assert "- Tags" not in text
    assert "- IC001 numeric non-root user: ok: 65532:65532" in text
    assert "-FROM a\n+FROM b" in text


def test_alpine_cves_link_to_alpines_tracker() -> None:
    text = pr_body.body("python", [change("1.4.3", (FIX,), distro="alpine")])
    assert "[CVE-2026-1234](https://security.alpinelinux.org/vuln/CVE-2026-1234)" in text


def test_every_fix_since_the_release_is_listed() -> None:
    # The build counts updates since the last release: a second fix keeps the first one's CVEs.
    second = Update(name="libzstd1", old="1.5.4", new="1.5.5", cves=("CVE-2026-0002",))
    text = pr_body.body("python", [change("1.4.3", (FIX, second))])
    assert "| libssl3 | 3.0.1 | 3.0.2 |" in text
    assert "| libzstd1 | 1.5.4 | 1.5.5 | CVE-2026-0002 |" in text
    assert "Security rebuild: fixes [CVE-2026-0002]" in text
    assert "[CVE-2026-9999](https://security-tracker.debian.org/tracker/CVE-2026-9999)." in text
    assert pr_body.title("python", [change("1.4.3", (FIX, second))]) == (
        "fix(python): security rebuild 1.4.3 (libssl3 CVE-2026-1234 CVE-2026-9999, libzstd1 CVE-2026-0002)"
    )


def test_commit_message_is_short_plain_text() -> None:
    subject, body = pr_body.commit_message("python", [change("1.4.3", (FIX,))])
    assert subject == "fix(python): security rebuild 1.4.3 (libssl3 CVE-2026-1234 CVE-2026-9999)"
    assert body == (
        f"python 1.4.3 (was 1.4.2)\n"
        f"image: {OLD} -> {NEW}\n"
        "libssl3: 3.0.1 -> 3.0.2\n"
        "fixes: CVE-2026-1234, CVE-2026-9999\n"
    )
    many = tuple(Update(name=f"pkg{i:02}", old="1", new="2") for i in range(12))
    body = pr_body.commit_message("python", [change("1.4.3", many)])[1]
    assert body.splitlines()[-1] == "and 2 more packages"
    assert "<" not in body
    assert "|" not in body


def test_body_fits_the_limit_by_dropping_the_least_important_first() -> None:
    updates = tuple(Update(name=f"pkg{i}", old="1", new="2") for i in range(400))
    big = change("1.4.3", (FIX, *updates), many=400)
    full = pr_body.body("python", [big])
    assert "Dockerfile diff" in full
    trimmed = pr_body.body("python", [big], limit=len(full) - 10)
    assert "Dockerfile diff" not in trimmed
    assert "| libssl3 |" in trimmed
    shorter = pr_body.body("python", [big], limit=4000)
    assert len(shorter) <= 4000
    assert "more | | | |" in shorter


def test_a_recipe_change_still_links_the_cves_it_fixes() -> None:
    bigger = SPEC.model_copy(update={"packages": ("python3", "python3-venv")})
    text = pr_body.body("python", [change("1.5.0", (FIX,), spec=bigger)])
    assert (
        "Recipe change (minor): packages added: python3-venv. Fixes "
        "[CVE-2026-1234](https://security-tracker.debian.org/tracker/CVE-2026-1234), "
        "[CVE-2026-9999](https://security-tracker.debian.org/tracker/CVE-2026-9999)."
    ) in text
