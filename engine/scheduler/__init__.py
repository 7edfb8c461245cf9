"""Time: the daemon, the sweep of due deadlines, simulate, due, doctor, digests."""
