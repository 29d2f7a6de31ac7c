"""Simulated calls: YAML scenarios spoken by a synthetic caller over real SIP to a running
appliance, judged by the live calls' evaluators and the scenarios' expectations."""
