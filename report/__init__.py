"""report package."""

__all__: list[str] = []
