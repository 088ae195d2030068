//! docs/adapter-protocol.schema.json is the JSON Schema generated from the
//! protocol's Rust types. Regenerate: UPDATE_SCHEMA=1 cargo test --test adapter_schema

use isocheck::subject::adapter::protocol::schema_json;

#[test]
fn the_protocol_schema_is_up_to_date() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/adapter-protocol.schema.json"
    );
    let want = schema_json();
    if std::env::var_os("UPDATE_SCHEMA").is_some() {
        std::fs::write(path, &want).unwrap();
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{path} is stale: run UPDATE_SCHEMA=1 cargo test --test adapter_schema"
    );
}
