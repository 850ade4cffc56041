"""The studio: a local web page over a work's voices file, its script and its chapters."""
