"""Planning with small host models: the compact prompt format, its training data and its metrics."""
