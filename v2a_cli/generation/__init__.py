"""Generation: AudioLDM conditioned on CLAP embeddings (`audioldm.py`) and the core pipeline (`pipeline.py`).

Import-light on purpose: nothing heavy is imported until a submodule is.
"""
