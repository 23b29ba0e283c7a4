"""Wire-level helpers every HTTP provider shares: answer shapes, error bodies, server limits and probes."""
