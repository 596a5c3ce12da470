-- What the repository analysis found (profile, risks, inferred manifest fields) and how the
-- version fared in validation (ready / degraded / failed, per capability), kept with each
-- version so `mark1 plugin info` can show why a plugin is in the state it is.
ALTER TABLE plugin_versions ADD COLUMN analysis_json TEXT NOT NULL DEFAULT '{}';
ALTER TABLE plugin_versions ADD COLUMN validation_json TEXT NOT NULL DEFAULT '{}';
