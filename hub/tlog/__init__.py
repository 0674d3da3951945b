"""The transparency log: the RFC 9162 Merkle tree and C2SP checkpoints (pure), and the service that keeps them over the store."""
