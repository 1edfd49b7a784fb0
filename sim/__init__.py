"""The call simulator: an in-memory network, a carrier in front of a population
of called parties, and a team of operator phones. See docs/SIMULATOR.md."""
