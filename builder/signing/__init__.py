"""Signatures and attestations in cosign's formats, and their verification.

keys (ECDSA P-256 in cosign's PEM formats) -> simplesigning (the signed payload) and dsse
(in-toto statements in DSSE envelopes: sbom, provenance, vex) -> store (the `.sig` and `.att`
tags in the registry) -> sign (the release step) and verify (consumers); admission writes
the policies that let only signed images of the channel in.
"""
