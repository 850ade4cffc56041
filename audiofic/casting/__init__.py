"""Casting: the layered voices files and a voice for every speaker."""
