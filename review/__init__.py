"""review package."""

__all__: list[str] = []
