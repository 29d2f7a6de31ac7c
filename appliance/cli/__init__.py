"""The `appliance` command line: the parser and dispatch (main.py) and its handlers."""
