-- GET /api/tasks/{id} (shared/src/repo.rs get_task); a random row among those seeded for :uid
\set id random(:min_id, :max_id)
SELECT id, title, description, completed, created_at, updated_at, completed_at FROM tasks WHERE id = :id AND user_id = :uid;
