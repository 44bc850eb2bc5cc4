"""Privacy: export everything Farewell holds about one person, erase it, and anonymise old postmortems.

An erasure keeps the anonymous facts (dates, plan, MRR, reason choices, review verdicts) so that insights still
add up, and removes the person's name, address, company, their own words and every email about them. The
suppression list keeps only a hash of the address, so an opt-out outlives the erasure.
"""
