"""labkit's eBPF datapath: C programs beside the Python that loads them with bcc."""
