-- The user who created a repo: org members with role "contributor" write only to their own repos.
ALTER TABLE repos ADD COLUMN created_by INTEGER;
