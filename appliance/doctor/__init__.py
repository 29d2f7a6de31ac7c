"""`appliance doctor`: preflight checks for hospital IT, one module per check group."""
