//! User ids, including the adversarial ones apps get wrong when they paste
//! an id into a path (`../bob`, `.`, `alice/x`), compare it loosely
//! (`Alice`, `bob `, NFC vs NFD) or pass it to C (`bob\0x`).

use proptest::prelude::*;

/// Base names; user `i` of a case is [`name`]`(i)` unless its id is hostile.
pub const NAMES: [&str; 8] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi",
];

/// Most users a case can have (`--users`).
pub const MAX_USERS: usize = 64;

/// The plain id of user `i`: the eight names, then `user8`, `user9`, ...
/// (distinct for every `i`, and none a case variant of another).
pub fn name(i: usize) -> String {
    match NAMES.get(i) {
        Some(n) => (*n).to_string(),
        None => format!("user{i}"),
    }
}

/// How a user's id is formed. Variants that take a `u8` refer to another
/// user of the same case (by offset), so the id aliases *that* user's id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserIdSpec {
    /// `alice`
    Plain,
    /// `.`
    Dot,
    /// `..`
    DotDot,
    /// the empty id
    Empty,
    /// `bob/..` (the parent of another user's directory)
    ParentOf(u8),
    /// `alice/../bob` (walks into another user's directory)
    TraverseTo(u8),
    /// `../bob`
    UpTo(u8),
    /// `bob/alice` (nested inside another user's directory)
    NestedIn(u8),
    /// `Bob` (differs from another id by case only)
    CaseOf(u8),
    /// `bob ` (differs by trailing whitespace only)
    TrailingSpace(u8),
    /// `renée` composed (NFC)
    Nfc,
    /// `renée` decomposed (NFD): the same text as [`UserIdSpec::Nfc`] after normalization
    Nfd,
    /// a 300-character id
    Long,
    /// `bob\0alice` (the same as `bob` to anything that stops at NUL)
    Nul(u8),
}

impl UserIdSpec {
    /// The id class this spec belongs to, as a root cause names it
    /// (`None` for a plain id). NFC and NFD are one class: they alias
    /// each other.
    pub fn class(self) -> Option<&'static str> {
        use UserIdSpec::*;
        Some(match self {
            Plain => return None,
            Dot => "dot",
            DotDot => "dot-dot",
            Empty => "empty",
            ParentOf(_) => "trailing-parent",
            TraverseTo(_) => "embedded-traversal",
            UpTo(_) => "leading-parent",
            NestedIn(_) => "nesting",
            CaseOf(_) => "case",
            TrailingSpace(_) => "whitespace",
            Nfc | Nfd => "unicode-normalization",
            Long => "over-long",
            Nul(_) => "nul",
        })
    }
}

/// Every id class, in the order reports list them, with what it is.
pub const ID_CLASSES: [(&str, &str); 12] = [
    ("empty", "the empty id"),
    ("dot", "the id `.`"),
    ("dot-dot", "the id `..`"),
    ("trailing-parent", "an id ending in `/..` (e.g. `bob/..`)"),
    (
        "leading-parent",
        "an id starting with `../` (e.g. `../bob`)",
    ),
    (
        "embedded-traversal",
        "an id walking through `..` (e.g. `alice/../bob`)",
    ),
    ("nesting", "an id nested in another's (e.g. `bob/alice`)"),
    ("case", "an id differing by case only (e.g. `Bob`)"),
    (
        "unicode-normalization",
        "ids equal after Unicode normalization (NFC and NFD `renée`)",
    ),
    (
        "whitespace",
        "an id differing by trailing whitespace (e.g. `bob `)",
    ),
    ("nul", "an id with a NUL byte (e.g. `bob\\0alice`)"),
    ("over-long", "a 300-character id"),
];

/// The mix of ids a strategy draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdMix {
    /// Only plain names.
    Plain,
    /// Mostly plain names, some hostile ids.
    Mixed,
    /// Mostly hostile ids.
    Hostile,
    /// A directed search for one id class (an index into [`ID_CLASSES`]):
    /// one user of that class among plain ones (see `gen::scenario`).
    Only(u8),
}

/// The specs of id class `class` (an index into [`ID_CLASSES`]).
fn of_class(class: u8) -> BoxedStrategy<UserIdSpec> {
    use UserIdSpec::*;
    let name = ID_CLASSES.get(class as usize).map_or("", |(k, _)| *k);
    match name {
        "empty" => Just(Empty).boxed(),
        "dot" => Just(Dot).boxed(),
        "dot-dot" => Just(DotDot).boxed(),
        "trailing-parent" => any::<u8>().prop_map(ParentOf).boxed(),
        "leading-parent" => any::<u8>().prop_map(UpTo).boxed(),
        "embedded-traversal" => any::<u8>().prop_map(TraverseTo).boxed(),
        "nesting" => any::<u8>().prop_map(NestedIn).boxed(),
        "case" => any::<u8>().prop_map(CaseOf).boxed(),
        "unicode-normalization" => prop_oneof![Just(Nfc), Just(Nfd)].boxed(),
        "whitespace" => any::<u8>().prop_map(TrailingSpace).boxed(),
        "nul" => any::<u8>().prop_map(Nul).boxed(),
        _ => Just(Long).boxed(),
    }
}

fn hostile() -> BoxedStrategy<UserIdSpec> {
    use UserIdSpec::*;
    prop_oneof![
        Just(Dot),
        Just(DotDot),
        Just(Empty),
        any::<u8>().prop_map(ParentOf),
        any::<u8>().prop_map(TraverseTo),
        any::<u8>().prop_map(UpTo),
        any::<u8>().prop_map(NestedIn),
        any::<u8>().prop_map(CaseOf),
        any::<u8>().prop_map(TrailingSpace),
        Just(Nfc),
        Just(Nfd),
        Just(Long),
        any::<u8>().prop_map(Nul),
    ]
    .boxed()
}

/// A strategy for one user's id spec. `Plain` comes first so shrinking
/// prefers plain ids.
pub fn user_id_spec(mix: IdMix) -> BoxedStrategy<UserIdSpec> {
    match mix {
        IdMix::Plain => Just(UserIdSpec::Plain).boxed(),
        IdMix::Mixed => prop_oneof![3 => Just(UserIdSpec::Plain), 2 => hostile()].boxed(),
        IdMix::Hostile => prop_oneof![1 => Just(UserIdSpec::Plain), 4 => hostile()].boxed(),
        IdMix::Only(class) => of_class(class),
    }
}

/// The concrete ids of a case's users. Ids are distinct: a spec that
/// repeats an id already taken falls back to the plain name.
pub fn materialize_ids(specs: &[UserIdSpec]) -> Vec<String> {
    let n = specs.len();
    let other = |i: usize, j: u8| -> String {
        let t = if n < 2 {
            i
        } else {
            (i + 1 + j as usize % (n - 1)) % n
        };
        name(t)
    };
    let mut out: Vec<String> = Vec::with_capacity(n);
    for (i, spec) in specs.iter().enumerate() {
        let me = &name(i);
        let id = match *spec {
            UserIdSpec::Plain => me.to_string(),
            UserIdSpec::Dot => ".".into(),
            UserIdSpec::DotDot => "..".into(),
            UserIdSpec::Empty => String::new(),
            UserIdSpec::ParentOf(j) => format!("{}/..", other(i, j)),
            UserIdSpec::TraverseTo(j) => format!("{me}/../{}", other(i, j)),
            UserIdSpec::UpTo(j) => format!("../{}", other(i, j)),
            UserIdSpec::NestedIn(j) => format!("{}/{me}", other(i, j)),
            UserIdSpec::CaseOf(j) => {
                let o = other(i, j);
                o[..1].to_uppercase() + &o[1..]
            }
            UserIdSpec::TrailingSpace(j) => format!("{} ", other(i, j)),
            UserIdSpec::Nfc => "ren\u{e9}e".into(),
            UserIdSpec::Nfd => "rene\u{301}e".into(),
            UserIdSpec::Long => me.repeat(300 / me.len() + 1)[..300].to_string(),
            UserIdSpec::Nul(j) => format!("{}\0{me}", other(i, j)),
        };
        let id = if out.contains(&id) {
            me.to_string()
        } else {
            id
        };
        out.push(id);
    }
    out
}

/// A printable form of an id for reports (`"bob\u{0}alice"`, `""`).
pub fn display_id(id: &str) -> String {
    let plain = !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.@".contains(c))
        && id.len() <= 40;
    if plain {
        id.to_string()
    } else if id.len() > 40 {
        let head: String = id.chars().take(12).collect();
        format!("{head:?}…({} chars)", id.chars().count())
    } else {
        format!("{id:?}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_has_a_directed_strategy() {
        use proptest::strategy::ValueTree;
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        for (k, (name, _)) in ID_CLASSES.iter().enumerate() {
            let spec = of_class(k as u8).new_tree(&mut runner).unwrap().current();
            assert_eq!(spec.class(), Some(*name));
        }
    }

    #[test]
    fn sixty_four_users_have_distinct_plain_ids_and_hostile_ones_still_alias() {
        let mut specs = vec![UserIdSpec::Plain; MAX_USERS];
        let ids = materialize_ids(&specs);
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), MAX_USERS);
        assert_eq!(
            (ids[7].as_str(), ids[8].as_str(), ids[63].as_str()),
            ("heidi", "user8", "user63")
        );
        specs[63] = UserIdSpec::ParentOf(0);
        assert_eq!(materialize_ids(&specs)[63], "alice/..");
        specs[63] = UserIdSpec::CaseOf(8);
        assert_eq!(materialize_ids(&specs)[63], "User8");
    }

    #[test]
    fn ids_are_distinct_and_alias_others() {
        use UserIdSpec::*;
        let ids = materialize_ids(&[
            Plain,
            TraverseTo(0),
            NestedIn(0),
            Dot,
            Dot,
            CaseOf(0),
            Nfc,
            Nfd,
        ]);
        assert_eq!(ids[1], "bob/../carol");
        assert_eq!(ids[2], "dave/carol");
        assert_eq!(ids[4], "erin", "a repeated id falls back to the plain name");
        assert_eq!(ids[5], "Grace");
        let set: std::collections::HashSet<_> = ids.iter().collect();
        assert_eq!(set.len(), ids.len());
        assert_eq!(display_id("a\0b"), "\"a\\0b\"");
    }
}
