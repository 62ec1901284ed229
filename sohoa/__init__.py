"""sohoa: digitisation of paper dossiers for Vietnamese public-administration service desks."""

__version__ = "0.1.0"
