"""The bot's PR title and body: Conventional Commits, the changelog, and the size limit."""

from __future__ import annotations

from pathlib import Path

from builder import graph, pr_body, recipes, settings
from builder.lock import BaseLock, ImageLock, Lock, Package, Spec, Update
from builder.releases import Record, Release

REPO = Path(__file__).resolve().parents[2]
SPEC = Spec(base="debian:bookworm-slim", distro="debian", packages=("python3",))


def change(version: str, updates: tuple[Update, ...] = (), spec: Spec = SPEC, old: str = "a",
           new: str = "b", many: int = 0) -> pr_body.Change:
    config = settings.load(REPO, environ={})
    image = graph.build(recipes.load_dir(config.recipes_dir, REPO)).images["python"]

    def lock(v: str, digest: str, packages: dict[str, str], s: Spec) -> Lock:
        return Lock(image="python", version=v, recipe_sha256="0" * 64,
                    base=BaseLock(reference="r/debian-base:1.0.0", digest="sha256:" + "1" * 64),
                    result=ImageLock(repository="r/base/python", tag="candidate", digest="sha256:" + digest * 64,
                                     image_id="sha256:" + digest * 64, size=1000),
                    packages=tuple(Package(name=n, version=x, source=n, architecture="amd64")
                                   for n, x in packages.items()), spec=s, updates=updates,
                    checks=("IC001 numeric non-root user: ok: 65532:65532",))
    before = {"libssl3": "3.0.1", **{f"pkg{i}": "1" for i in range(many)}}
    after = {"libssl3": "3.0.2", **{f"pkg{i}": "2" for i in range(many)}}
    record = Record(image="python", releases=(
        Release(version="1.4.2", date="2026-11-01", tags=("1.4.2",), lock=lock("1.4.2", old, before, SPEC)),))
    return pr_body.Change(image, lock(version, new, after, spec), record,
                          "FROM a\nUSER 1:1\n", "FROM b\nUSER 1:1\n")


def test_titles_follow_conventional_commits() -> None:
    fix = Update(name="libssl3", old="3.0.1", new="3.0.2", cves=("CVE-2026-1234",))
    assert pr_body.title("python", [change("1.4.3", (fix,))]) == (
        "fix(python): security rebuild 1.4.3 (libssl3 CVE-2026-1234)")
    assert pr_body.title("python", [change("1.4.3")]) == "fix(python): rebuild 1.4.3"
    bigger = SPEC.model_copy(update={"packages": ("python3", "python3-venv")})
    assert pr_body.title("python", [change("1.5.0", spec=bigger)]) == "feat(python): 1.5.0, recipe change"
    smaller = SPEC.model_copy(update={"packages": ()})
    assert pr_body.title("python", [change("2.0.0", spec=smaller)]) == "feat(python)!: 2.0.0, breaking recipe change"


def test_body_says_what_a_reviewer_needs() -> None:
    fix = Update(name="libssl3", old="3.0.1", new="3.0.2", cves=("CVE-2026-1234",))
    text = pr_body.body("python", [change("1.4.3", (fix,))])
    assert "### python 1.4.3 (patch)" in text
    assert "Security rebuild: fixes CVE-2026-1234." in text
    assert "| libssl3 | 3.0.1 | 3.0.2 | CVE-2026-1234 |" in text
    assert "**Tags on merge:** `1.4.3` (new, immutable); `1.4`, `1`, `latest` move to it." in text
    assert "- IC001 numeric non-root user: ok: 65532:65532" in text
    assert "-FROM a\n+FROM b" in text


def test_body_fits_the_limit_by_dropping_the_least_important_first() -> None:
    big = change("1.4.3", many=400)
    full = pr_body.body("python", [big])
    assert "Dockerfile diff" in full
    trimmed = pr_body.body("python", [big], limit=len(full) - 10)
    assert "Dockerfile diff" not in trimmed
    assert "| libssl3 |" in trimmed
    shorter = pr_body.body("python", [big], limit=4000)
    assert len(shorter) <= 4000
    assert "more | | | |" in shorter
