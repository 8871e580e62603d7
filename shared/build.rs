//! The migrations are embedded at compile time (`refinery::embed_migrations!` in `db.rs`), so a
//! changed or added migration must rebuild this crate; Cargo does not know that on its own.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
