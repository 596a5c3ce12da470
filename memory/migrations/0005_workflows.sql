-- Workflow runs: the definition as run (so resume never depends on the file still being the
-- same), how it was started, and which process drives it (for cancel and crash detection).
ALTER TABLE runs ADD COLUMN definition_json TEXT;
ALTER TABLE runs ADD COLUMN source TEXT;
ALTER TABLE runs ADD COLUMN options_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE runs ADD COLUMN runner_pid INTEGER;

-- A step row is one instance: "resize[3]" is item 3 of a map, "poll#2" the second loop run.
ALTER TABLE steps ADD COLUMN step TEXT;
ALTER TABLE steps ADD COLUMN item_index INTEGER;
ALTER TABLE steps ADD COLUMN iteration INTEGER;
ALTER TABLE steps ADD COLUMN attempt INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN side_effects TEXT;
ALTER TABLE steps ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;
ALTER TABLE steps ADD COLUMN cache_key TEXT;
ALTER TABLE steps ADD COLUMN queued_at REAL;
CREATE INDEX steps_run ON steps(run_id, step);

-- Results reused by later runs: same plugin version, capability and inputs (file contents
-- included in the key).
CREATE TABLE step_cache (
    key TEXT PRIMARY KEY,
    plugin TEXT NOT NULL,
    capability TEXT NOT NULL,
    outputs_json TEXT NOT NULL,
    artifacts_json TEXT NOT NULL DEFAULT '[]',
    created_at REAL NOT NULL,
    hits INTEGER NOT NULL DEFAULT 0
);

-- Workflows saved by name (`mark1 workflow save`), re-run and scheduled by that name.
CREATE TABLE workflows (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    definition_json TEXT NOT NULL,
    source_text TEXT,
    source_path TEXT,
    saved_at REAL NOT NULL
);

-- `mark1 workflow schedule`: run a saved workflow every N seconds or on a cron expression.
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    workflow TEXT NOT NULL REFERENCES workflows(name),
    every_s REAL,
    cron TEXT,
    inputs_json TEXT NOT NULL DEFAULT '{}',
    enabled INTEGER NOT NULL DEFAULT 1,
    next_at REAL NOT NULL,
    last_run_id TEXT,
    last_status TEXT,
    created_at REAL NOT NULL,
    CHECK ((every_s IS NULL) != (cron IS NULL))
);
