"""The runtime: settings, the composition root, the views follower, group commit, telemetry and the clock."""
