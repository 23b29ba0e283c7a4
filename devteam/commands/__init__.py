"""The subcommands: a run, check, logs, model set-up, bench. Each turns a run's outcome into output."""
