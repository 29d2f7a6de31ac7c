"""What takes a call out of the turn loop: a transfer to a human, the PCI payment pause."""
