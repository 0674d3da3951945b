"""The runtime: settings, the composition roots (the hub's and the relay's), one store kit per
store kind, the views follower, group commit, telemetry and the clock."""
