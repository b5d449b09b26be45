"""`openproctor backup DEST` and `openproctor restore SRC`: the database, every stored object,
the secret key, and a manifest with the sha256 of every file (manifest.py); database dumps
and loads per engine (database.py); the two flows (flows.py); the commands (commands.py)."""
