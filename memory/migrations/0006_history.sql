-- Conversation history: every session, message and tool call, in full (Chroma keeps only what
-- recall needs). A session belongs to a namespace: one per user, one per long-running agent.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    title TEXT,
    namespace TEXT NOT NULL DEFAULT 'default',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX sessions_updated ON sessions(updated_at);

-- run_id names the workflow or plugin run a message started or reports on. It is not a
-- foreign key on purpose: runs may be pruned while the conversation about them is kept.
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('user', 'assistant', 'system', 'tool')),
    content TEXT NOT NULL,
    created_at REAL NOT NULL,
    run_id TEXT,
    tokens_in INTEGER,
    tokens_out INTEGER,
    meta_json TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX messages_session ON messages(session_id, created_at);

-- A tool call the model made in an assistant message; call_id is the model's own id for it
-- (the one its tool-result message answers), run_id the run that executed it.
CREATE TABLE tool_calls (
    id INTEGER PRIMARY KEY,
    message_id INTEGER NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    call_id TEXT NOT NULL,
    name TEXT NOT NULL,
    plugin TEXT,
    arguments_json TEXT NOT NULL DEFAULT '{}',
    result_json TEXT,
    status TEXT NOT NULL,
    run_id TEXT,
    started_at REAL NOT NULL,
    finished_at REAL
);
-- Also what makes deleting a message (and so a session) find its tool calls without a scan.
CREATE INDEX tool_calls_message ON tool_calls(message_id);
