"""What the files are: formats, tags, covers, the feed and the server. Low in the order:
sound and casting name formats and file names, so this folder uses only the base and engines."""
