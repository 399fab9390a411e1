"""Math Visuals storage API and deployment tooling."""

__version__ = "0.1.0"
