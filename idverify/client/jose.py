"""The one JOSE algorithm idverify signs and accepts; the source lives in ``idverify_client.jose``."""

from idverify_client.jose import EDDSA, REGISTRY, Ed25519AsEdDSA, IdVerifyJWSRegistry

__all__ = ["EDDSA", "REGISTRY", "Ed25519AsEdDSA", "IdVerifyJWSRegistry"]
