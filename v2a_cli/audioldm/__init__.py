"""AudioLDM, the generator: its diffusers components loaded through their maintained classes, our own
sampling loop (`generator.py`) and its schedulers (`schedulers.py`). A model module: it knows nothing of
sources, timelines or commands (those are `generation/`'s)."""
