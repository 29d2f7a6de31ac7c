"""Agent plane: the call session state machine and what it says."""
