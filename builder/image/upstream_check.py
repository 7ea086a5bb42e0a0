"""`builder watch` against the live upstream: the registry, the apt indexes of the channel's repositories (each
verified with its repository's key) and Debian changelogs; its report as plan reasons and as Markdown."""

from __future__ import annotations

from builder.channel.candidates import Candidates
from builder.core.settings import Settings
from builder.image import watch, watch_report
from builder.image.plan import Rendered
from builder.recipe.graph import Channel
from builder.upstream import apt_index, debian_changelog, registry


def apt_indexes(settings: Settings, channel: Channel) -> apt_index.IndexCache:
    """The package indexes, each verified with its repository's key (Debian's archive keyring by default)."""
    repositories = {
        (r.url, r.signed_by, r.trusted) for image in channel.images.values() for r in image.recipe.repositories
    }
    return apt_index.IndexCache(
        settings.cache_dir,
        mirrors=dict(settings.apt_mirrors),
        keyrings=apt_index.channel_keyrings(settings.root, repositories),
    )


def run(
    settings: Settings, channel: Channel, selected: list[str], candidates: Candidates, rendered: Rendered | None = None
) -> watch_report.Report:
    """`rendered`: shared with the run's plan, which then renders no Dockerfile again."""
    client = registry.RegistryClient(registry.docker_config_credentials())
    logs = debian_changelog.ChangelogCache(settings.cache_dir)
    return watch.run(
        settings,
        channel,
        selected,
        client.digest,
        indexes=apt_indexes(settings, channel),
        logs=logs,
        candidates=candidates,
        rendered=rendered,
    )


def plan_reasons(report: watch_report.Report) -> dict[str, list[str]]:
    """The package updates found (`plan --watch`, `build --watch`), as reasons to rebuild each image."""
    reasons: dict[str, list[str]] = {}
    for item in report.images:
        for finding in item.findings:
            if finding.kind == "security-update":
                reasons.setdefault(item.image, []).append(finding.summary)
    return reasons


def markdown(report: watch_report.Report) -> str:
    """The report as a table for $GITHUB_STEP_SUMMARY."""
    rows = ["| image | state | why |", "|---|---|---|"]
    for item in report.images:
        why = "; ".join(f"{f.kind}: {f.summary}" for f in (*item.findings, *item.notices)) or "up to date"
        state = "error" if item.errors else ("stale" if item.stale else "ok")
        cell = why.replace("|", "\\|")
        rows.append(f"| `{item.image}` | {state} | {cell} |")
    return "### builder watch\n\n" + "\n".join(rows) + "\n"
