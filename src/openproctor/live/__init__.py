"""The live loop: candidate and proctor sockets, per-session runtime state, the hub."""
