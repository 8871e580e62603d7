-- Smart Todo schema, version 3: per-user usage counters for the limits (chat turns, writes), kept in
-- PostgreSQL so that they hold across every Lambda instance. One row per user, kind and window.

CREATE TABLE usage_windows (
    user_id      text        NOT NULL,
    kind         text        NOT NULL CHECK (kind IN ('write', 'turn_minute', 'turn_day')),
    window_start timestamptz NOT NULL,
    count        integer     NOT NULL,
    PRIMARY KEY (user_id, kind, window_start)
);

-- Counting a user's tasks for the per-user cap reads this index only.
CREATE INDEX IF NOT EXISTS tasks_user_id_only_idx ON tasks (user_id);
