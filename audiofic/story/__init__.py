"""The story as text: segments, how words are said, who is in it and who says each line. Pure."""
