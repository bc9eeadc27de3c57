"""Prefect flows and the ``berthwatch`` command line: orchestration only."""

__all__: list[str] = []
