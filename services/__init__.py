"""The operations every surface calls: ``Deps`` and the tool registry ``TOOLS``."""
