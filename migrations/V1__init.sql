-- Smart Todo schema, version 1: tasks, conversations and their messages.
-- Every row of user data carries user_id; every query filters by it.

CREATE TABLE tasks (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    title        text        NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    description  text                 CHECK (length(description) <= 2000),
    completed    boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    completed_at timestamptz,
    CHECK (completed = (completed_at IS NOT NULL))
);

-- Listing a user's tasks by status, in id order (the keyset the API pages on).
CREATE INDEX tasks_user_completed_idx ON tasks (user_id, completed, id);
CREATE INDEX tasks_user_id_idx ON tasks (user_id, id);

CREATE TABLE conversations (
    id         uuid        PRIMARY KEY,
    user_id    text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    title      text,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX conversations_user_updated_idx ON conversations (user_id, updated_at);

CREATE TABLE messages (
    id              uuid        PRIMARY KEY,
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         text        NOT NULL,
    role            text        NOT NULL CHECK (role IN ('user', 'assistant', 'tool')),
    content         text        NOT NULL,
    tool_calls      jsonb,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp()
);

CREATE INDEX messages_conversation_created_idx ON messages (conversation_id, created_at);
