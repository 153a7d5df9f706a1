"""Adversarial tests: faults injected into real parts, and fuzzing (issue 15)."""
