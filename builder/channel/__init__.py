"""The channel's records per image line: file layout, locks, release history, versions,
changelogs, SBOMs and open candidates."""
