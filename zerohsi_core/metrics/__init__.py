"""Paper metrics (Sec. 4.1) and errors against ground truth."""
