"""Listing a resource's pages for a sync, in this process or in a second one.

A full sync of a big Console is CPU-bound in Python: receiving and validating pages and turning
them into cache rows took about as long as writing them. ``process.ListingProcess`` moves that
half to a child process (``worker``), so it runs on another core while this process writes;
``page.local_page`` does the same work in this process (incremental syncs, tests with an
injected transport, and profiles with ``listing_process = false``).
"""
