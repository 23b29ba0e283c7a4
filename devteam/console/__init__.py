"""What the user sees: progress events as plain lines or a live view, the run header, notices."""
