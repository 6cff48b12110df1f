-- Secrets every replica must share (the URL-signing key), created once by whichever starts first.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
