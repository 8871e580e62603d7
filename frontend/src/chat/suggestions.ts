/** Starter prompts offered on an empty conversation (both chat UIs). */
export const SUGGESTIONS = ["Add a task to buy groceries", "What's pending?", "Show me all my tasks"];
