"""Sound: each segment to cached audio, chapters assembled and levelled for the encoder."""
