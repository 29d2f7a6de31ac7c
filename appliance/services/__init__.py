"""The processes and their composition: the agent worker, the SIP edge service, the
development supervisor, the composition root (runtime.py) and child-process plumbing."""
