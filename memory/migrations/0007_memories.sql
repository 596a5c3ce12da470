-- Conversational memory: every remembered text in full, already redacted. Chroma holds only
-- the vectors (one collection per namespace and model), which point back here by id.
-- kind: turn (a message), run (a run's summary), fact, preference or note (what the user said).
-- indexed / target_indexed: whether the vector is in the serving model's collections, and in
-- those of a model being re-embedded to. forgotten: being deleted from both stores (a forget
-- that was interrupted is finished by the next process that opens the memory).
CREATE TABLE memories (
    id TEXT PRIMARY KEY,
    namespace TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('turn', 'run', 'fact', 'preference', 'note')),
    role TEXT,
    text TEXT NOT NULL,
    digest TEXT NOT NULL,
    session_id TEXT,
    run_id TEXT,
    plugins_json TEXT NOT NULL DEFAULT '[]',
    meta_json TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    indexed INTEGER NOT NULL DEFAULT 0,
    target_indexed INTEGER NOT NULL DEFAULT 0,
    forgotten INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX memories_text ON memories(namespace, digest);
CREATE INDEX memories_session ON memories(session_id);
CREATE INDEX memories_created ON memories(created_at);
CREATE INDEX memories_unindexed ON memories(indexed) WHERE indexed = 0;
CREATE INDEX memories_untargeted ON memories(target_indexed) WHERE target_indexed = 0;
CREATE INDEX memories_forgotten ON memories(forgotten) WHERE forgotten = 1;

-- The model whose vectors recall uses, and the one stored memories are being re-embedded with.
CREATE TABLE memory_model (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    model TEXT NOT NULL,
    target TEXT,
    updated_at REAL NOT NULL
);
