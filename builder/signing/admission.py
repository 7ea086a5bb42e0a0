"""What the catalog publishes for verifiers and admission: the channel's public keys, a
containers `policy.json` and `registries.d` snippet (skopeo, podman, CRI-O), a sigstore
policy-controller `ClusterImagePolicy` and a Kyverno `ClusterPolicy`, each admitting only
images of the channel signed by a trusted, unrevoked key.

Files under base-images/: keys/KEYID.pub (trusted), keys/revoked/KEYID.pub, and
policy/{policy.json, registries.d/builder-channel.yaml, cluster-image-policy.yaml,
kyverno-cluster-policy.yaml}.
"""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

from builder.core.files import Writes, write_changed
from builder.core.settings import Settings
from builder.signing import keys

NAME = "builder-channel"


def key_sets(settings: Settings) -> tuple[list[keys.PublicKey], list[keys.PublicKey]]:
    """(trusted and not revoked, revoked) public keys of the channel, from its settings."""
    revoked = [keys.load_public(p) for p in settings.revoked_keys]
    gone = {k.id for k in revoked}
    return [k for k in (keys.load_public(p) for p in settings.trusted_keys) if k.id not in gone], revoked


def key_file(key: keys.PublicKey) -> str:
    return key.id.removeprefix("sha256:")[:16] + ".pub"


def scope(settings: Settings) -> str:
    return f"{settings.registry}/{settings.namespace}"


def policy_json(settings: Settings, trusted: list[keys.PublicKey]) -> str:
    requirement = {
        "type": "sigstoreSigned",
        "keyDatas": [base64.b64encode(k.pem()).decode() for k in trusted],
        "signedIdentity": {"type": "matchRepository"},
    }
    policy = {"default": [{"type": "reject"}], "transports": {"docker": {scope(settings): [requirement]}}}
    return json.dumps(policy, indent=2) + "\n"


def registries_d(settings: Settings) -> str:
    return f"docker:\n  {scope(settings)}:\n    use-sigstore-attachments: true\n"


def _pem_block(key: keys.PublicKey, indent: int) -> str:
    return textwrap.indent(key.pem().decode(), " " * indent).rstrip("\n")


def cluster_image_policy(settings: Settings, trusted: list[keys.PublicKey]) -> str:
    authorities = "".join(
        f"    - name: key-{key_file(k).removesuffix('.pub')}\n"
        f"      key:\n        hashAlgorithm: sha256\n        data: |\n{_pem_block(k, 10)}\n"
        for k in trusted
    )
    return (
        "# sigstore policy-controller: images of the channel must carry a signature by one of its keys\n"
        "# (no ctlog: the channel's signatures are not in a transparency log).\n"
        "apiVersion: policy.sigstore.dev/v1beta1\nkind: ClusterImagePolicy\n"
        f'metadata:\n  name: {NAME}\nspec:\n  images:\n    - glob: "{scope(settings)}/**"\n'
        f"  authorities:\n{authorities}"
    )


def kyverno_policy(settings: Settings, trusted: list[keys.PublicKey]) -> str:
    entries = "".join(
        f"                - keys:\n                    publicKeys: |-\n{_pem_block(k, 22)}\n"
        "                    signatureAlgorithm: sha256\n"
        "                    rekor:\n                      ignoreTlog: true\n"
        "                    ctlog:\n                      ignoreSCT: true\n"
        for k in trusted
    )
    pattern = f"{scope(settings)}/*"
    containers = "".join(
        f'            ={kind}:\n              - image: "{pattern}"\n'
        for kind in ("(containers)", "(initContainers)", "(ephemeralContainers)")
    )
    return (
        "# Kyverno: pods run only images of the channel, signed by one of its keys.\n"
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\n"
        f"metadata:\n  name: {NAME}\nspec:\n  validationFailureAction: Enforce\n  background: false\n"
        "  webhookTimeoutSeconds: 30\n  rules:\n"
        "    - name: only-channel-images\n      match:\n        any:\n          - resources:\n"
        "              kinds: [Pod]\n      validate:\n"
        f'        message: "only images of {scope(settings)} may run"\n        pattern:\n          spec:\n'
        f"{containers}"
        "    - name: channel-images-signed\n      match:\n        any:\n          - resources:\n"
        "              kinds: [Pod]\n      verifyImages:\n"
        f'        - imageReferences: ["{pattern}"]\n          mutateDigest: true\n'
        "          verifyDigest: true\n          required: true\n          attestors:\n"
        f"            - count: 1\n              entries:\n{entries}"
    )


def files(settings: Settings) -> dict[Path, str]:
    trusted, revoked = key_sets(settings)
    out = settings.output_dir
    published = {out / "keys" / key_file(k): k.pem().decode() for k in trusted}
    published |= {out / "keys" / "revoked" / key_file(k): k.pem().decode() for k in revoked}
    if trusted:
        policy = out / "policy"
        published |= {
            policy / "policy.json": policy_json(settings, trusted),
            policy / "registries.d" / f"{NAME}.yaml": registries_d(settings),
            policy / "cluster-image-policy.yaml": cluster_image_policy(settings, trusted),
            policy / "kyverno-cluster-policy.yaml": kyverno_policy(settings, trusted),
        }
    return published


def write(settings: Settings) -> Writes:
    """Write the published keys and policies that changed; keys no longer in their set are removed."""
    wanted = files(settings)
    for folder in (settings.output_dir / "keys", settings.output_dir / "keys" / "revoked"):
        for stale in folder.glob("*.pub") if folder.is_dir() else ():
            if stale not in wanted and not stale.is_symlink():
                stale.unlink()
    return write_changed(wanted)
