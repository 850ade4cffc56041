"""audiofic: render fan fiction into tagged per-chapter audiobooks, offline."""

__version__ = "0.1.0"
