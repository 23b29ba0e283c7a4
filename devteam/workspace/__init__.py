"""The generated project on disk: its git repository, safe paths and the one-run lock."""
