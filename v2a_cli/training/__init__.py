"""Training data (extraction, pairs) and mapper training. Import the submodules; this package stays light."""
