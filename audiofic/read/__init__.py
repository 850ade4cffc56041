"""Read: a file (plain text, AO3 HTML, EPUB) into a Work with metadata and chapters."""
