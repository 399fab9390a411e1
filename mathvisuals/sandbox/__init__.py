"""Local stand-ins for the cloud parts, started as processes on loopback only."""
