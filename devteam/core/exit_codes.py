"""The process exit codes every command shares."""

EXIT_OK = 0
EXIT_FAILED = 1  # a run that could not finish, a check that failed, no record to show
EXIT_USAGE = 2  # a config or usage error
EXIT_INTERRUPTED = 130  # Ctrl-C
EXIT_BROKEN_PIPE = 141  # the reader closed the pipe (`metagpt logs | head`): 128 + SIGPIPE, as shells report it
EXIT_TERMINATED = 143  # SIGTERM (128 + 15), handled like Ctrl-C
