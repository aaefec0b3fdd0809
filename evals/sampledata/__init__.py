"""Deterministic sample data: FOCUS bills, LLM gateway logs, utilization samples, a GitOps repo."""
