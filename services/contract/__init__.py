"""The event contract shared by every service, and the messaging plumbing that carries it."""
