"""`builder verify` and `keygen`: consumers check images; publishers make signing keys."""

from __future__ import annotations

from builder.cli import report
from builder.cli.arguments import KeygenArgs, VerifyArgs
from builder.cli.locate import catalog, catalog_path, settings
from builder.core.errors import ExitCode, UsageError
from builder.signing import keys as signing_keys
from builder.signing import store as signing_store
from builder.signing import verify as signing_verify
from builder.upstream import registry


def keygen_command(args: KeygenArgs) -> ExitCode:
    prefix = args.output_prefix
    private, public = prefix.with_name(prefix.name + ".key"), prefix.with_name(prefix.name + ".pub")
    existing = [str(p) for p in (private, public) if p.exists() or p.is_symlink()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} already exist(s): choose another --output-prefix, or --force")
    password = signing_keys.password_from_env_or_prompt()
    key = signing_keys.generate()
    signing_keys.write_pair(key, password, private, public)
    report.say(f"wrote {private} (encrypted private key: keep it secret) and {public}")
    report.say(f"key id {key.public.id}: add {public} to [tool.builder] trusted_keys")
    return ExitCode.OK


def verify_command(args: VerifyArgs) -> ExitCode:
    config = settings(args.root)
    trusted = [signing_keys.load_public(p) for p in args.keys or config.trusted_keys]
    if not trusted:
        raise UsageError(
            "no trusted keys: pass --key FILE (the channel publishes its keys in base-images/keys/), "
            "or set [tool.builder] trusted_keys"
        )
    revoked = [signing_keys.load_public(p) for p in (*args.revoked_keys, *config.revoked_keys)]
    index = catalog(catalog_path(args.catalog, config))
    store = signing_store.Store(registry.docker_config_credentials())
    verdicts = [signing_verify.verify(ref, store, trusted, revoked, index) for ref in args.refs]
    if args.json:
        report.emit_json({"images": [v.as_json() for v in verdicts]})
    else:
        for verdict in verdicts:
            for line in verdict.lines():
                report.say(line)
    return signing_verify.worst(verdicts)
