//! The OpenAPI document, generated from the handlers' annotations.

use serde_json::{Value, json};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Smart Todo task API", description = "Tasks of the signed-in user. Errors are RFC 9457 problem+json."),
    paths(
        super::health,
        super::get_me,
        super::patch_me,
        super::parse_due,
        super::parse_line,
        super::get_counts,
        super::get_lists,
        super::create_list,
        super::rename_list,
        super::delete_list,
        super::list_tasks,
        super::create_task,
        super::get_task,
        super::patch_task,
        super::put_task,
        super::delete_task,
        super::complete_task,
        super::reopen_task,
        super::restore_task,
        super::get_activity,
        super::get_trash,
        super::undo,
    ),
    modifiers(&BearerAuth)
)]
pub(crate) struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Due phrases the document lists: each parses at any time in any zone.
const DUE_PHRASES: [&str; 12] = [
    "today",
    "tomorrow",
    "tomorrow 5pm",
    "next friday",
    "in 3 days",
    "dec 24",
    "2027-12-24 09:30",
    "end of month",
    "every weekday at 9",
    "every 2 weeks",
    "every month on the 1st",
    "every monday",
];

/// Quick-add lines the document lists: each parses at any time in any zone.
const QUICK_LINES: [&str; 5] = [
    "Buy milk",
    "Buy milk tomorrow 5pm #errands !high",
    "Call mom ~Family",
    "Pay rent every month on the 1st !1",
    "Read a book #fun !low",
];

/// Recurrence rules the document lists.
const DUE_RULES: [&str; 4] = [
    "FREQ=DAILY",
    "FREQ=WEEKLY;BYDAY=MO",
    "FREQ=MONTHLY;BYMONTHDAY=1",
    "FREQ=YEARLY",
];

/// Characters the API refuses in a title, description or search (control characters, Unicode Cc).
const CONTROL: &str = "\\u0000-\\u001f\\u007f-\\u009f";

/// The document as served: the generated one plus what the annotations cannot say, so that it
/// states exactly what the server enforces: every status a route can answer, and the limits of
/// every field and parameter (checked by schemathesis in `scripts/test`).
pub(crate) fn contract(doc: utoipa::openapi::OpenApi) -> Value {
    let mut doc = serde_json::to_value(doc).expect("the OpenAPI document serialises");
    let problem = json!({"description": "an RFC 9457 problem", "content": {
        "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}});
    if let Some(paths) = doc["paths"].as_object_mut() {
        for (path, operations) in paths.iter_mut() {
            let path_is_quick_add = path == "/api/parse";
            let Some(operations) = operations.as_object_mut() else {
                continue;
            };
            for operation in operations.values_mut().filter_map(Value::as_object_mut) {
                let authenticated = operation.contains_key("security");
                let has_body = operation.contains_key("requestBody");
                let mut statuses = vec!["503"];
                if authenticated {
                    statuses.extend(["400", "401", "404", "429"]);
                }
                if has_body {
                    statuses.extend(["413", "415", "422"]);
                }
                let responses = operation.entry("responses").or_insert_with(|| json!({}));
                for status in statuses {
                    responses
                        .as_object_mut()
                        .expect("responses are an object")
                        .entry(status)
                        .or_insert_with(|| problem.clone());
                }
                for parameter in operation
                    .get_mut("parameters")
                    .and_then(Value::as_array_mut)
                    .into_iter()
                    .flatten()
                {
                    constrain_parameter(parameter, path_is_quick_add);
                }
            }
        }
    }
    let schemas = &mut doc["components"]["schemas"];
    let title = json!({"type": "string", "minLength": 1, "maxLength": 200,
        "pattern": format!("^[^{CONTROL}]*[^\\s{CONTROL}][^{CONTROL}]*$"),
        "description": "1–200 characters after trimming, not blank, no control characters."});
    let description = json!({"type": ["string", "null"], "maxLength": 2000,
        "pattern": "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$",
        "description": "At most 2,000 characters (line breaks and tabs allowed); blank or null means none."});
    for name in ["CreateTask", "PutTask"] {
        schemas[name]["properties"]["title"] = title.clone();
        schemas[name]["properties"]["description"] = description.clone();
    }
    // PUT: an absent or null `completed` means false.
    schemas["PutTask"]["properties"]["completed"] = json!({"type": ["boolean", "null"]});
    let patch = &mut schemas["PatchTask"];
    patch["minProperties"] = json!(1);
    patch["properties"]["title"] = title;
    patch["properties"]["description"] = description;
    patch["properties"]["completed"] = json!({"type": "boolean"});
    // Exactly the zone names of the tz database compiled into the server.
    let zones: Vec<&str> = smart_todo_shared::domain::Zone::names().collect();
    // `due`: the phrases listed always parse (the server understands many more: see the README);
    // the object's parts are documented stricter than the server checks them (days 1–28), so that
    // every document-valid due is accepted.
    let phrases: Vec<&str> = std::iter::once("").chain(DUE_PHRASES).collect();
    let due = json!({"description": "When the task is due: a phrase read in the user's time zone, \
        the due object, or null for none.", "oneOf": [
        {"type": "null"},
        {"type": "string", "enum": phrases, "description": "A phrase; blank means none."},
        {"type": "object", "additionalProperties": false, "required": ["date"], "properties": {
            "date": {"type": "string", "pattern": "^(19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])$"},
            "time": {"type": ["string", "null"], "description": "HH:MM; null or empty: all day",
                "pattern": "^(([01][0-9]|2[0-3]):[0-5][0-9])?$"},
            "timezone": {"description": "IANA zone; null or absent: the user's", "oneOf": [
                {"type": "null"}, {"type": "string", "enum": zones.clone()}]},
            "recurrence": {"oneOf": [{"type": "null"}, {"type": "object", "additionalProperties": false,
                "required": ["rule"], "properties": {"rule": {"type": "string", "enum": DUE_RULES}}}]}
        }}
    ]});
    for name in ["CreateTask", "PutTask", "PatchTask"] {
        schemas[name]["properties"]["due"] = due.clone();
    }
    // Priority, list and tags, as the server reads them.
    let priority = json!({"type": "string", "enum": ["none", "low", "medium", "high"]});
    let list = json!({"type": "string", "minLength": 1, "maxLength": 50,
        "pattern": format!("^[^{CONTROL}]*[^\\s{CONTROL}][^{CONTROL}]*$"),
        "description": "A list's name, 1–50 characters after trimming; `Inbox` for the Inbox."});
    let tags = json!({"type": "array", "maxItems": 10, "items": {"type": "string",
        "pattern": format!("^#?[^\\s,#{CONTROL}]{{1,32}}$")},
        "description": "At most 10 tags, each 1–32 characters without spaces, commas or '#' \
            (one leading '#' is dropped); stored in lower case."});
    for name in ["CreateTask", "PutTask"] {
        schemas[name]["properties"]["priority"] =
            json!({"oneOf": [{"type": "null"}, priority.clone()]});
        schemas[name]["properties"]["list"] = json!({"oneOf": [{"type": "null"}, list.clone()]});
        schemas[name]["properties"]["tags"] = json!({"oneOf": [{"type": "null"}, tags.clone()]});
    }
    let patch = &mut schemas["PatchTask"];
    patch["properties"]["priority"] = json!({"oneOf": [{"type": "null"}, priority.clone()]});
    patch["properties"]["list"] = json!({"oneOf": [{"type": "null"}, list.clone()]});
    patch["properties"]["tags"] = json!({"oneOf": [{"type": "null"}, tags.clone()]});
    let mut own = list.clone();
    own["description"] =
        json!("1–50 characters after trimming, unique per user ignoring case; not `Inbox` (409).");
    schemas["ListBody"]["properties"]["name"] = own;
    schemas["Task"]["properties"]["tags"] = tags;
    schemas["Task"]["properties"]["list"] = list;
    let me = &mut schemas["PatchMe"];
    me["minProperties"] = json!(1);
    me["properties"]["timezone"] = json!({"type": "string", "enum": zones,
        "description": "An IANA time zone name as the tz database spells it, e.g. Europe/Berlin."});
    doc
}

/// The limits of a query or path parameter, as the server parses it.
fn constrain_parameter(parameter: &mut Value, path_is_quick_add: bool) {
    let schema = match parameter["name"].as_str() {
        Some("id" | "task_id") => json!({"type": "integer", "format": "int64", "minimum": 1}),
        // An empty value means the default, as forms send it.
        Some("status") => json!({"type": "string", "enum": ["", "all", "pending", "completed"]}),
        Some("limit") => json!({"type": "integer", "minimum": 1, "maximum": 100}),
        // Cursors are opaque: only the next_cursor of a listing continues it, so the document
        // can list no value but the empty one (the first page).
        Some("cursor") => json!({"type": "string", "enum": [""]}),
        Some("view") => json!({"type": "string",
            "enum": ["", "all", "today", "overdue", "upcoming", "no_date"]}),
        // `relevance` needs `q`, so the document leaves it out (it is the default with `q`).
        Some("sort") => json!({"type": "string",
            "enum": ["", "due", "priority", "created", "updated", "title"]}),
        Some("order") => json!({"type": "string", "enum": ["", "asc", "desc"]}),
        Some("priority") => {
            json!({"type": "string", "enum": ["", "none", "low", "medium", "high"]})
        }
        Some("list") => json!({"type": "string", "maxLength": 50,
            "pattern": format!("^([^{CONTROL}]*[^\\s{CONTROL}][^{CONTROL}]*)?$")}),
        Some("tag") => {
            json!({"type": "string", "pattern": format!("^(#?[^\\s,#{CONTROL}]{{1,32}})?$")})
        }
        Some("due_before" | "due_after") => json!({"type": "string",
            "pattern": "^((19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?$"}),
        Some("q") => json!({"type": "string", "maxLength": 200, "pattern": "^[^\\u0000]*$"}),
        Some("text") if path_is_quick_add => json!({"type": "string", "enum": QUICK_LINES}),
        Some("text") => json!({"type": "string", "enum": DUE_PHRASES}),
        Some("occurrence") => json!({"type": "string",
            "pattern": "^((19|2[0-9])[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8]))?$"}),
        _ => return,
    };
    parameter["schema"] = schema;
}
