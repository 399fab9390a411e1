"""The HTTP side of the storage API: routing, handlers, error mapping, Lambda adapter."""
