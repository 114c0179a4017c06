"""Policy as code: bundles on disk -> validated, hashed, compiled snapshots."""
