"""Embedding models: open_clip's CLIP (the mapper's input space) and AudioLDM's CLAP (its target space)."""
