"""Formal proofs of the RTL blocks with SymbiYosys (issue 19 item 3); see formal/catalog.py."""
