"""Near-duplicate folding: signatures → LSH candidates → verification → clusters."""
