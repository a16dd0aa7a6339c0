"""Sound sources in a picture or video: detection (detector.py), weights and crops (find.py),
matching across video frames (tracks.py) and the boxes picture (draw.py). See docs/sources.md."""
