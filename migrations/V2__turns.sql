-- Smart Todo schema, version 2: a chat turn is a record, messages have a per-conversation order,
-- and a tool result is keyed by its turn and the model's tool-call id.

-- Messages are ordered by a sequence number the conversation hands out (one clock, one order):
-- `conversations.last_seq` is bumped in the statement that appends, under the conversation's row lock.
ALTER TABLE conversations ADD COLUMN last_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE messages ADD COLUMN seq bigint;
ALTER TABLE messages ADD COLUMN turn_id uuid;
ALTER TABLE messages ADD COLUMN tool_call_id text;

-- Existing rows keep the order they were shown in.
UPDATE messages m SET seq = o.n
  FROM (SELECT id, row_number() OVER (PARTITION BY conversation_id ORDER BY created_at, id) AS n
          FROM messages) o
 WHERE o.id = m.id;
UPDATE messages SET tool_call_id = tool_calls ->> 'tool_call_id' WHERE role = 'tool';
UPDATE conversations c
   SET last_seq = coalesce((SELECT max(seq) FROM messages WHERE conversation_id = c.id), 0);

ALTER TABLE messages ALTER COLUMN seq SET NOT NULL;
ALTER TABLE messages ALTER COLUMN created_at SET DEFAULT now();
CREATE UNIQUE INDEX messages_conversation_seq_idx ON messages (conversation_id, seq);

-- One turn per user message: its state, the lease of the function running it, the client's
-- idempotency key and the stored answer that a replay returns.
CREATE TABLE turns (
    id               uuid        PRIMARY KEY,
    conversation_id  uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id          text        NOT NULL,
    user_message_id  uuid        NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    status           text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    -- Bumped by every (re)start; writes of an older attempt are refused (fencing).
    attempt          integer     NOT NULL DEFAULT 1,
    lease_until      timestamptz NOT NULL,
    idempotency_key  text        CHECK (length(idempotency_key) BETWEEN 1 AND 128),
    -- SHA-256 of the request the key was first used with.
    request_hash     text,
    started_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz,
    reply_message_id uuid,
    -- What `POST /api/chat` answered: replayed for the same key.
    response         jsonb
);

-- At most one running turn per conversation, whatever the callers do.
CREATE UNIQUE INDEX turns_one_running_idx ON turns (conversation_id) WHERE status = 'running';
CREATE UNIQUE INDEX turns_idempotency_idx ON turns (user_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX turns_conversation_idx ON turns (conversation_id, started_at);

-- A tool call's result is stored once per turn: the record that makes its effect exactly-once.
CREATE UNIQUE INDEX messages_turn_tool_call_idx ON messages (turn_id, tool_call_id)
    WHERE tool_call_id IS NOT NULL;
