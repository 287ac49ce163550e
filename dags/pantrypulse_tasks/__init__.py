"""Shared task building for the PantryPulse DAGs.

The DAG files stay thin: they declare schedules, parameters and the order of steps; this package
turns each step into an operator. Which operator is a matter of configuration (see
`pantrypulse_tasks.config`): in the cluster every step runs the versioned `ingestion` or `dbt`
image in a pod; locally the same command runs as a subprocess against the embedded stack.
"""
