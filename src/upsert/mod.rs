//! The primary keys of upsert and dedup tables: [`keymap`] holds where the
//! latest version of each key is, compactly and off the allocator's heap.

pub mod keymap;

pub use keymap::{hash_key, ExactKeyMap, HashedKeyMap, KeyMap, Location};
