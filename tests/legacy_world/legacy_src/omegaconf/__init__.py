"""Stand-in for `omegaconf`: only the node classes and attribute names a pickle records."""
