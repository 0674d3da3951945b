"""Who is calling: personal identity numbers, the directory of areas, units and staff, tokens, issuers, sessions and principals."""
