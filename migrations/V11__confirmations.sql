-- Smart Todo schema, version 11: changes to several tasks wait for a yes.
--
-- A chat request that would delete, complete or reopen more than one task is not carried out from
-- that one message: the turn stores the exact set it would change here and asks; the user's next
-- message in the conversation answers. A yes changes exactly this set, whatever the list looks like
-- by then (the set is stored, not recomputed); a no, or any other next message, drops it.
--
--   turn_id        the turn that asked
--   action         delete, complete or reopen
--   task_ids       the user's task numbers it would change, in the order shown
--   state          open until answered: done (yes), cancelled (no), expired (another message came)
--   resolved_turn  the turn that answered
CREATE TABLE pending_actions (
    id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         text        NOT NULL CHECK (length(user_id) BETWEEN 1 AND 128),
    conversation_id uuid        NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    turn_id         uuid        NOT NULL,
    action          text        NOT NULL CHECK (action IN ('delete', 'complete', 'reopen')),
    task_ids        bigint[]    NOT NULL CHECK (cardinality(task_ids) BETWEEN 1 AND 100),
    state           text        NOT NULL DEFAULT 'open'
                                CHECK (state IN ('open', 'done', 'cancelled', 'expired')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    resolved_turn   uuid
);

-- A conversation's open question (at most one: asking again replaces it).
CREATE UNIQUE INDEX pending_actions_open_idx ON pending_actions (conversation_id)
    WHERE state = 'open';
CREATE INDEX pending_actions_user_idx ON pending_actions (user_id, conversation_id, id);
