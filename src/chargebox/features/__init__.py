"""One module per feature profile: the Central System's calls, answered from the charts."""
