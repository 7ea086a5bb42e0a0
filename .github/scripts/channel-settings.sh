#!/usr/bin/env bash
# Export the channel settings given as repository variables to the rest of the job.
#
# The workflows pass vars.BUILDER_REGISTRY, vars.BUILDER_NAMESPACE and
# vars.BUILDER_UPSTREAM_MIRRORS as CHANNEL_*; an unset repository variable is an empty
# string there. The builder would take an empty BUILDER_* variable as the value (and reject
# it), so only the ones that are set become BUILDER_* for the following steps; the others
# keep pyproject.toml's [tool.builder] values.
set -euo pipefail

for key in REGISTRY NAMESPACE UPSTREAM_MIRRORS; do
  name="CHANNEL_$key"
  value=${!name:-}
  [ -n "$value" ] || continue
  case $value in
    *$'\n'* | *$'\r'*)
      echo "::error::repository variable BUILDER_$key holds a line break"
      exit 1
      ;;
  esac
  printf 'BUILDER_%s=%s\n' "$key" "$value" >>"$GITHUB_ENV"
  echo "BUILDER_$key=$value (repository variable)"
done
