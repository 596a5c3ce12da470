-- Hosts that ssh capabilities run on, by the name their entry points give (`mark1 remote add`).
-- An empty known_hosts_path means the user's ~/.ssh/known_hosts.
CREATE TABLE remotes (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    host TEXT NOT NULL,
    port INTEGER NOT NULL DEFAULT 22 CHECK (port BETWEEN 1 AND 65535),
    user TEXT,
    key_path TEXT,
    known_hosts_path TEXT,
    created_at REAL NOT NULL
);
