//! Honest replies: a reply may claim only the changes the turn's tools made. What a reply claims
//! ("I've deleted task 3", "Done! Added “Milk”", "it has been moved") is read from its sentences and
//! compared with the write tools that succeeded in the turn; a claim with no such success is held
//! back from the stream and corrected (see `Attempt::run`).

use std::collections::BTreeSet;
use std::sync::LazyLock;
use std::sync::atomic::{AtomicU64, Ordering};

use regex::Regex;
use serde_json::Value;
use smart_todo_shared::tools::Tool;

use super::turn::ToolCallRecord;

/// A kind of change a reply can claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Effect {
    Added,
    Deleted,
    Completed,
    Reopened,
    /// Renamed, moved, rescheduled, re-prioritised, tagged: any edit.
    Changed,
    Restored,
    Undone,
}

impl Effect {
    /// The past tense a correction uses.
    fn past(self) -> &'static str {
        match self {
            Self::Added => "added",
            Self::Deleted => "deleted",
            Self::Completed => "completed",
            Self::Reopened => "reopened",
            Self::Changed => "changed",
            Self::Restored => "restored",
            Self::Undone => "undid",
        }
    }
}

const VERBS: &str = "added|created|deleted|removed|completed|marked|renamed|updated|changed|moved|\
rescheduled|restored|reopened|undid|undone|reverted|tagged|set";

/// "I've deleted", "I have also added", "I just marked".
static FIRST_PERSON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\bi(?:'ve|’ve| have)?(?: just| also| now| already)?\s+({VERBS})\b"
    ))
    .expect("a valid pattern")
});

/// A sentence that opens with the verb and names what it did it to: "Added “Milk” as task 4",
/// "Done! Deleted task 3", "Moved it to Work".
static OPENING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r#"^(?:(?:done|ok|okay|sure|great|all set|got it|alright)[!.,:;—–-]*\s+)?({VERBS})\s+(?:task\b[^s]|task$|tasks? #?\d|the\b|it\b|that\b|them\b|both\b|all\b|[“"'#\d])"#
    ))
    .expect("a valid pattern")
});

/// "It has been deleted", "that's now done", "they're all completed".
static STATE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:it|that|this|they|both|all of them)(?:'s|’s|'re|’re| has| have| is| are)\s+(?:been\s+|now\s+|all\s+)*({VERBS}|done)\b"
    ))
    .expect("a valid pattern")
});

/// "… and added", "… then moved": further claims in a sentence that made one.
static CONJOINED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"\b(?:and|then|also|plus)\s+(?:i(?:'ve|’ve| have)?\s+)?(?:also\s+)?({VERBS})\b"
    ))
    .expect("a valid pattern")
});

fn effect_of(verb: &str, sentence: &str) -> Effect {
    match verb {
        "added" | "created" => Effect::Added,
        "deleted" | "removed" => Effect::Deleted,
        "completed" | "done" => Effect::Completed,
        "reopened" => Effect::Reopened,
        "restored" => Effect::Restored,
        "undid" | "undone" | "reverted" => Effect::Undone,
        "marked" => {
            let reopening = [
                "not done",
                "pending",
                "incomplete",
                "not complete",
                "undone",
            ];
            if reopening.iter().any(|w| sentence.contains(w)) {
                Effect::Reopened
            } else {
                Effect::Completed
            }
        }
        _ => Effect::Changed,
    }
}

/// The changes `text` says were made. Lines of a list ("- Completed “Milk”") describe, they do not
/// claim, and are not read.
pub fn claimed(text: &str) -> BTreeSet<Effect> {
    let mut effects = BTreeSet::new();
    let lower = text.to_lowercase();
    for line in lower.lines() {
        let line = line.trim();
        let listed = line.starts_with(['-', '*', '•'])
            || line
                .split_once(['.', ')'])
                .is_some_and(|(n, _)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
        if listed || line.is_empty() {
            continue;
        }
        for sentence in split_sentences(line) {
            let sentence = sentence.trim();
            for pattern in [&*FIRST_PERSON, &*STATE] {
                for caps in pattern.captures_iter(sentence) {
                    effects.insert(effect_of(&caps[1], sentence));
                }
            }
            let before = effects.len();
            if let Some(caps) = OPENING.captures(sentence) {
                effects.insert(effect_of(&caps[1], sentence));
            }
            let claims = effects.len() > before
                || FIRST_PERSON.is_match(sentence)
                || STATE.is_match(sentence);
            if claims {
                for caps in CONJOINED.captures_iter(sentence) {
                    effects.insert(effect_of(&caps[1], sentence));
                }
            }
        }
    }
    effects
}

fn split_sentences(line: &str) -> Vec<&str> {
    let mut out = vec![];
    let mut start = 0;
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if matches!(b, b'.' | b'!' | b'?' | b';')
            && bytes
                .get(i + 1)
                .is_none_or(|next| next.is_ascii_whitespace())
        {
            out.push(&line[start..=i]);
            start = i + 1;
        }
    }
    if start < line.len() {
        out.push(&line[start..]);
    }
    out
}

/// What the turn's tools did, from their stored results.
#[derive(Debug, Clone, Default)]
pub struct Achieved {
    effects: BTreeSet<Effect>,
    /// The turn read the history: a reply may retell past changes.
    read_history: bool,
}

impl Achieved {
    pub fn of(records: &[ToolCallRecord]) -> Self {
        let mut achieved = Self::default();
        for record in records {
            let ok = record.result.get("error").is_none();
            let Some(tool) = Tool::from_name(&record.name) else {
                continue;
            };
            let effect = match tool {
                Tool::Activity => {
                    achieved.read_history = true;
                    continue;
                }
                Tool::AddTask => Effect::Added,
                Tool::AddTasks => {
                    let any = record.result["results"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|r| r.get("task").is_some()));
                    if !any {
                        continue;
                    }
                    Effect::Added
                }
                Tool::DeleteTask => Effect::Deleted,
                Tool::CompleteTask => Effect::Completed,
                Tool::ReopenTask => Effect::Reopened,
                Tool::UpdateTask => Effect::Changed,
                Tool::RestoreTask => Effect::Restored,
                Tool::ConfirmChange => {
                    let changed = record.result["changed"]
                        .as_array()
                        .is_some_and(|c| !c.is_empty());
                    if !changed {
                        continue;
                    }
                    match record.result["action"].as_str() {
                        Some("delete") => Effect::Deleted,
                        Some("reopen") => Effect::Reopened,
                        _ => Effect::Completed,
                    }
                }
                Tool::ChangeTasks => continue,
                Tool::UndoLastChange => Effect::Undone,
                Tool::ListTasks | Tool::ListLists | Tool::GetTask | Tool::FindTask => continue,
            };
            if ok {
                achieved.effects.insert(effect);
            }
        }
        achieved
    }

    fn backs(&self, claim: Effect) -> bool {
        let has = |e: Effect| self.effects.contains(&e);
        // An undo can have added, deleted, completed … anything.
        has(claim)
            || has(Effect::Undone)
            || (claim == Effect::Changed && (has(Effect::Completed) || has(Effect::Reopened)))
    }

    /// The claims of `text` that no tool of the turn backs (none when the turn read the history).
    pub fn unbacked(&self, text: &str) -> Vec<Effect> {
        if self.read_history {
            return vec![];
        }
        claimed(text)
            .into_iter()
            .filter(|claim| !self.backs(*claim))
            .collect()
    }
}

/// Replies corrected since the process started (a reply claimed a change no tool made).
static CORRECTIONS: AtomicU64 = AtomicU64::new(0);

/// Counts and logs a reply that claimed `claims` without a tool to back them.
pub fn record_correction(claims: &[Effect], regenerating: bool) {
    let total = CORRECTIONS.fetch_add(1, Ordering::Relaxed) + 1;
    tracing::warn!(
        claims = ?claims,
        regenerating,
        corrections = total,
        "a reply claimed a change no tool made; it was held back"
    );
}

/// How many replies were corrected in this process.
pub fn corrections() -> u64 {
    CORRECTIONS.load(Ordering::Relaxed)
}

/// The note the model gets before it answers again.
pub fn note(claims: &[Effect]) -> String {
    let words: Vec<&str> = claims.iter().map(|c| c.past()).collect();
    format!(
        "Your reply said you {} a task, but no tool call in this turn did that. Do not claim a change \
         a tool result does not show: call the tool if the user asked for it, or say truthfully what \
         happened.",
        words.join(" / ")
    )
}

/// A reply that says only what the tool results show, for when the model would not.
pub fn truthful(records: &[ToolCallRecord]) -> String {
    let mut lines = vec![];
    for record in records {
        let Some(tool) = Tool::from_name(&record.name) else {
            continue;
        };
        if tool.spec().read_only {
            continue;
        }
        let result = &record.result;
        match result.get("error").and_then(Value::as_str) {
            Some(error) => lines.push(format!("{} failed: {error}.", tool.spec().title)),
            None => lines.extend(done_lines(tool, result)),
        }
    }
    if lines.is_empty() {
        "I haven't changed anything: no change was made to your tasks in this reply.".into()
    } else {
        format!("Here is what was actually done:\n{}", lines.join("\n"))
    }
}

fn done_lines(tool: Tool, result: &Value) -> Vec<String> {
    let line = |change: &Value| {
        format!(
            "- Task {} \u{201c}{}\u{201d}: {}",
            change["task_id"],
            change["title"].as_str().unwrap_or_default(),
            change["status"].as_str().unwrap_or("changed")
        )
    };
    match tool {
        Tool::AddTasks => result["results"]
            .as_array()
            .map(|r| {
                r.iter()
                    .map(|r| match (r.get("task"), r.get("error")) {
                        (Some(task), _) => line(task),
                        (None, error) => format!(
                            "- Not added: {}",
                            error.and_then(Value::as_str).unwrap_or("refused")
                        ),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        Tool::UndoLastChange => result["undone"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| format!("- Undid: {}", e["summary"].as_str().unwrap_or_default()))
                    .collect()
            })
            .unwrap_or_default(),
        _ => vec![line(result)],
    }
}

/// Words a claim starts with or turns on: the verbs, and the subjects of "I've …", "it has been …",
/// "that's done".
const TRIGGERS: [&str; 20] = [
    "i", "i've", "i’ve", "it", "it's", "it’s", "that", "that's", "that’s", "this", "they",
    "they're", "both", "done", "sure", "ok", "okay", "great", "alright", "got",
];

/// A sentence that only opens a reply ("Done!", "Sure.", "All set!"): it is judged with the
/// sentence after it, so that "Done!" never goes out ahead of a claim that is then held.
fn only_opens(sentence: &str) -> bool {
    let words: String = sentence
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect();
    let words = words.split_whitespace().collect::<Vec<_>>().join(" ");
    [
        "done", "all done", "sure", "ok", "okay", "great", "all set", "got it", "alright",
    ]
    .contains(&words.as_str())
}

fn is_trigger(word: &str) -> bool {
    TRIGGERS.contains(&word) || VERBS.split('|').any(|verb| verb == word)
}

fn may_become_trigger(prefix: &str) -> bool {
    prefix.is_empty()
        || TRIGGERS.iter().any(|t| t.starts_with(prefix))
        || VERBS.split('|').any(|verb| verb.starts_with(prefix))
}

/// How much of an unfinished sentence may stream: everything before the first word that could
/// start or make a claim (the last, unfinished word counts when it could still become one).
fn safe_prefix(sentence: &str) -> usize {
    let mut start = None;
    for (i, c) in sentence.char_indices() {
        match (c.is_whitespace(), start) {
            (false, None) => start = Some(i),
            (true, Some(s)) => {
                if is_trigger(&word_of(&sentence[s..i])) {
                    return s;
                }
                start = None;
            }
            _ => {}
        }
    }
    match start {
        Some(s) if may_become_trigger(&word_of(&sentence[s..])) => s,
        _ => sentence.len(),
    }
}

fn word_of(raw: &str) -> String {
    raw.trim_matches(|c: char| !c.is_alphanumeric() && c != '\'' && c != '’')
        .to_lowercase()
}

/// The text of one model round on its way to the stream. Text streams as it comes, except from a
/// word that could start a claim ("I", "it", "deleted" …) to the end of its sentence: the sentence
/// is then judged whole, and goes out unless it claims a change the turn's tools have not made —
/// from such a sentence on, the rest of the round is held until the round is judged.
#[derive(Debug, Default)]
pub struct Gate {
    achieved: Achieved,
    /// The current sentence (and, once held, everything after it).
    pending: String,
    /// Bytes of `pending` already streamed.
    shown: usize,
    held: bool,
    /// What this round has streamed so far.
    emitted: String,
    open: bool,
}

impl Gate {
    pub fn new(achieved: Achieved) -> Self {
        Self {
            achieved,
            ..Self::default()
        }
    }

    /// A gate that lets everything through: for the offline assistant, whose replies are written
    /// from the tool results themselves.
    pub fn open() -> Self {
        Self {
            open: true,
            ..Self::default()
        }
    }

    /// Adds a delta; answers what may be streamed now.
    pub fn push(&mut self, delta: &str) -> Option<String> {
        if self.open {
            return Some(delta.to_owned());
        }
        self.pending.push_str(delta);
        if self.held {
            return None;
        }
        let mut out = String::new();
        let boundary = |text: &str, from: usize| {
            text[from..]
                .char_indices()
                .find(|(_, c)| matches!(c, '.' | '!' | '?' | '\n' | ';'))
                .map(|(i, c)| from + i + c.len_utf8())
        };
        while let Some(mut end) = boundary(&self.pending, 0) {
            if only_opens(&self.pending[..end]) {
                match boundary(&self.pending, end) {
                    Some(next) => end = next,
                    None => break,
                }
            }
            if !self.achieved.unbacked(&self.pending[..end]).is_empty() {
                self.held = true;
                break;
            }
            out.push_str(&self.pending[self.shown..end]);
            self.pending.drain(..end);
            self.shown = 0;
        }
        if !self.held {
            let safe = safe_prefix(&self.pending);
            if safe > self.shown {
                out.push_str(&self.pending[self.shown..safe]);
                self.shown = safe;
            }
        }
        self.emitted.push_str(&out);
        (!out.is_empty()).then_some(out)
    }

    /// Ends the round, judged against what the tools have achieved by now, and starts the next.
    pub fn end(&mut self, achieved: &Achieved) -> Round {
        if self.open {
            return Round {
                emitted: String::new(),
                rest: String::new(),
                unbacked: vec![],
            };
        }
        self.achieved = achieved.clone();
        self.held = false;
        let pending = std::mem::take(&mut self.pending);
        let rest = pending[self.shown..].to_owned();
        self.shown = 0;
        Round {
            emitted: std::mem::take(&mut self.emitted),
            unbacked: achieved.unbacked(&pending),
            rest,
        }
    }
}

/// A round's text as the gate saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Round {
    /// What was streamed while the model wrote.
    pub emitted: String,
    /// What was not streamed yet.
    pub rest: String,
    /// The claims of `rest` nothing backs: it may go out only when this is empty.
    pub unbacked: Vec<Effect>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(name: &str, result: Value) -> ToolCallRecord {
        ToolCallRecord {
            name: name.into(),
            arguments: json!({}),
            result,
        }
    }

    #[test]
    fn claims_are_read_from_how_replies_say_them() {
        use Effect::*;
        let cases: &[(&str, &[Effect])] = &[
            ("I've deleted task 3.", &[Deleted]),
            (
                "I've deleted task 9 and added a new one.",
                &[Added, Deleted],
            ),
            ("I have added “Buy milk” to your list.", &[Added]),
            ("Done! Added “Milk” as task 4.", &[Added]),
            ("Deleted task 2: Call mom.", &[Deleted]),
            ("Sure — I just marked it as done.", &[Completed]),
            ("I marked task 3 as not done.", &[Reopened]),
            ("It has been moved to Work.", &[Changed]),
            ("That's done.", &[Completed]),
            ("I renamed task 1 to “Call mom tonight”.", &[Changed]),
            ("Done.", &[]),
            ("I undid your last change.", &[Undone]),
            // Not claims.
            ("You have 3 tasks:\n- Completed “Milk”\n- Buy eggs", &[]),
            ("Completed tasks: 2 of 5.", &[]),
            ("I can delete it if you want. Should I?", &[]),
            ("I couldn't find a task named “dentist”.", &[]),
            ("Task 3 is completed.", &[]),
            ("1. Deleted the draft", &[]),
            ("Which one do you mean?", &[]),
        ];
        for (text, want) in cases {
            let got: Vec<Effect> = claimed(text).into_iter().collect();
            assert_eq!(&got, want, "{text}");
        }
    }

    #[test]
    fn only_a_success_backs_a_claim() {
        let failed = [record(
            "delete_task",
            json!({"error": "task 9 was not found"}),
        )];
        assert_eq!(
            Achieved::of(&failed).unbacked("I've deleted task 9."),
            [Effect::Deleted]
        );
        let done = [record(
            "delete_task",
            json!({"task_id": 9, "status": "deleted", "title": "x"}),
        )];
        assert!(
            Achieved::of(&done)
                .unbacked("I've deleted task 9.")
                .is_empty()
        );
        assert_eq!(
            Achieved::of(&done).unbacked("I've deleted task 9 and added a new one."),
            [Effect::Added]
        );
        let completed = [record(
            "complete_task",
            json!({"task_id": 1, "status": "completed", "title": "x"}),
        )];
        assert!(
            Achieved::of(&completed)
                .unbacked("I marked it as done.")
                .is_empty()
        );
        let history = [record("activity", json!({"events": []}))];
        assert!(
            Achieved::of(&history)
                .unbacked("Yesterday I deleted task 2.")
                .is_empty()
        );
        let none: [ToolCallRecord; 0] = [];
        assert_eq!(
            Achieved::of(&none).unbacked("Done! Deleted task 9."),
            [Effect::Deleted]
        );
    }

    #[test]
    fn the_gate_streams_sentences_until_one_claims_too_much() {
        let mut gate = Gate::new(Achieved::default());
        assert_eq!(
            gate.push("Hel"),
            Some("Hel".into()),
            "words stream as they come"
        );
        assert_eq!(gate.push("lo there"), Some("lo there".into()));
        assert_eq!(gate.push("! Sure, "), Some("! ".into()));
        assert_eq!(
            gate.push("I'll look into"),
            None,
            "held from a word a claim could start with"
        );
        assert_eq!(
            gate.push(" it. I've del"),
            Some("Sure, I'll look into it. ".into()),
            "released at the end of a sentence that claims nothing"
        );
        assert_eq!(
            gate.push("eted task 3. Anything else? "),
            None,
            "held from the claim on"
        );
        let round = gate.end(&Achieved::default());
        assert_eq!(round.emitted, "Hello there! Sure, I'll look into it. ");
        assert_eq!(round.rest, "I've deleted task 3. Anything else? ");
        assert_eq!(round.unbacked, [Effect::Deleted]);
        assert_eq!(
            gate.push("Next round "),
            Some("Next round ".into()),
            "a new round streams"
        );

        // "Done!" waits for the sentence after it.
        let mut gate = Gate::new(Achieved::default());
        assert_eq!(gate.push("Done! "), None);
        assert_eq!(gate.push("Deleted task 3. "), None);
        let round = gate.end(&Achieved::default());
        assert_eq!(round.emitted, "");
        assert_eq!(round.unbacked, [Effect::Deleted]);

        // Backed by a tool that ran in the round: the held text goes out at the end.
        let mut gate = Gate::new(Achieved::default());
        assert_eq!(gate.push("I've deleted task 3. "), None);
        let done = [record(
            "delete_task",
            json!({"task_id": 3, "status": "deleted", "title": "x"}),
        )];
        let round = gate.end(&Achieved::of(&done));
        assert_eq!(round.emitted, "");
        assert_eq!(round.rest, "I've deleted task 3. ");
        assert!(round.unbacked.is_empty());
    }

    #[test]
    fn the_truthful_reply_lists_what_happened() {
        assert!(truthful(&[]).starts_with("I haven't changed anything"));
        let records = [
            record("list_tasks", json!({"tasks": []})),
            record("delete_task", json!({"error": "task 9 was not found"})),
            record(
                "add_task",
                json!({"task_id": 4, "status": "created", "title": "Milk"}),
            ),
        ];
        assert_eq!(
            truthful(&records),
            "Here is what was actually done:\nDelete task failed: task 9 was not found.\n- Task 4 \u{201c}Milk\u{201d}: created"
        );
    }
}
