"""Keys and sealing: per-child data keys under a rotatable key-encryption key, and the mapper that seals stored facts."""
