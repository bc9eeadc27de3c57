"""One module per group of ``berthwatch`` commands; each exposes ``commands``."""
