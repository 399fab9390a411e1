"""Provisioning the Redis data plane: config, templates, checks and the orchestrator."""
