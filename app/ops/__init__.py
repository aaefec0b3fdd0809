"""What an operator sees of ``serve``: liveness and readiness checks, Prometheus metrics, JSON logs."""
