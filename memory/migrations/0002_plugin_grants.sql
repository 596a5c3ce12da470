-- What the user has granted each plugin beyond the default sandbox: JSON with
-- {"trusted": bool, "network": bool, "paths": ["/data:ro", ...]}.
ALTER TABLE plugins ADD COLUMN grants_json TEXT NOT NULL DEFAULT '{}';
