-- POST /api/tasks (shared/src/repo.rs insert_task)
INSERT INTO tasks (user_id, title, description) VALUES (:uid, :title, :description) RETURNING id, title, description, completed, created_at, updated_at, completed_at;
