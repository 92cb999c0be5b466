"""Writers: every output file is written atomically (temp file, fsync, rename)."""
