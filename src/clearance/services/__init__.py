"""Use cases built on the core and the ports: each module one capability."""
