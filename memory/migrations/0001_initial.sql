-- Plugins and their versions: a plugin row lives on after removal so run history keeps its name.
CREATE TABLE plugins (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    requested_ref TEXT,
    linked INTEGER NOT NULL DEFAULT 0,
    enabled INTEGER NOT NULL DEFAULT 1,
    active_version_id INTEGER REFERENCES plugin_versions(id),
    installed_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    removed_at REAL
);

CREATE TABLE plugin_versions (
    id INTEGER PRIMARY KEY,
    plugin_id INTEGER NOT NULL REFERENCES plugins(id),
    version TEXT,
    commit_sha TEXT,
    ref TEXT,
    path TEXT NOT NULL,
    source_path TEXT NOT NULL,
    env_path TEXT,
    manifest_path TEXT NOT NULL,
    manifest_json TEXT NOT NULL,
    environment_json TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('active', 'superseded', 'removed')),
    installed_at REAL NOT NULL
);

-- Capabilities of each plugin's active version, denormalised for listing and search.
CREATE TABLE capabilities (
    id INTEGER PRIMARY KEY,
    plugin_id INTEGER NOT NULL REFERENCES plugins(id),
    version_id INTEGER NOT NULL REFERENCES plugin_versions(id),
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    entry_type TEXT NOT NULL,
    side_effects TEXT NOT NULL,
    input_formats TEXT NOT NULL DEFAULT '[]',
    output_formats TEXT NOT NULL DEFAULT '[]',
    tags TEXT NOT NULL DEFAULT '[]',
    spec_json TEXT NOT NULL,
    UNIQUE (plugin_id, name)
);
CREATE INDEX capabilities_name ON capabilities(name);

-- A run is one request: a single capability now, a workflow later (kind).
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    target TEXT NOT NULL,
    status TEXT NOT NULL,
    inputs_json TEXT NOT NULL DEFAULT '{}',
    outputs_json TEXT,
    error TEXT,
    workdir TEXT,
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX runs_created ON runs(created_at);

CREATE TABLE steps (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(id),
    name TEXT NOT NULL,
    plugin TEXT NOT NULL,
    plugin_version_id INTEGER REFERENCES plugin_versions(id),
    runner_pid INTEGER,
    capability TEXT NOT NULL,
    status TEXT NOT NULL,
    inputs_json TEXT NOT NULL DEFAULT '{}',
    outputs_json TEXT,
    artifacts_json TEXT NOT NULL DEFAULT '[]',
    command_json TEXT,
    exit_code INTEGER,
    stdout_tail TEXT,
    stderr_tail TEXT,
    error TEXT,
    started_at REAL,
    finished_at REAL,
    UNIQUE (run_id, name)
);
