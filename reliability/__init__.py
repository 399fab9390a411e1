"""Reliability and security scenarios (issue 7): each one measures a property and returns a Row."""
