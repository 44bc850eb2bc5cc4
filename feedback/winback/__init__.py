"""Win-back and referrals: telling consenting customers what changed, once, and following up referrals."""
