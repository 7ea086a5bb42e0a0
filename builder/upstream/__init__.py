"""What upstream publishes: registries, signed apt and apk indexes, package changelogs and the fixes they list."""
