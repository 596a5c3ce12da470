-- What the setup wizard recorded for each plugin, apart from secrets (those are in the
-- vault) and sandbox grants: JSON with {"env": {NAME: value}, "services": {NAME: {...}},
-- "configured_at": seconds}.
ALTER TABLE plugins ADD COLUMN config_json TEXT NOT NULL DEFAULT '{}';
