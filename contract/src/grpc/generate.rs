//! Request messages generated from a message descriptor when the examples file has none for a
//! method: every field set to a plausible value of its type (one member of each oneof, a few
//! list and map entries, nested messages to a bounded depth), from a seed, so a run can be
//! reproduced.

use std::collections::HashMap;

use prost_reflect::{DynamicMessage, Kind, MapKey, MessageDescriptor, Value};

/// Nested messages deeper than this are left unset: recursive types stay finite.
const MAX_DEPTH: usize = 3;

const WORDS: [&str; 8] = [
    "alpha", "gauntlet", "probe", "delta", "orbit", "kilo", "nova", "quartz",
];

/// A seeded generator of messages.
pub struct MessageGenerator {
    state: u64,
}

impl MessageGenerator {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        MessageGenerator {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    // splitmix64: small, fast, and good enough to spread test values.
    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// A message of type `desc` with its fields set.
    pub fn message(&mut self, desc: &MessageDescriptor) -> DynamicMessage {
        self.message_at(desc, 0)
    }

    fn message_at(&mut self, desc: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(desc.clone());
        // For each real oneof, the one member to set.
        let mut chosen: HashMap<String, u32> = HashMap::new();
        for oneof in desc.oneofs().filter(|o| !o.is_synthetic()) {
            let members: Vec<u32> = oneof.fields().map(|f| f.number()).collect();
            let pick = members[self.below(members.len() as u64) as usize];
            chosen.insert(oneof.full_name().to_string(), pick);
        }
        for field in desc.fields() {
            if let Some(oneof) = field.containing_oneof() {
                if oneof.is_synthetic() {
                    // proto3 `optional`: present about half the time.
                    if self.below(2) == 0 {
                        continue;
                    }
                } else if chosen.get(oneof.full_name()) != Some(&field.number()) {
                    continue;
                }
            }
            if matches!(field.kind(), Kind::Message(_)) && depth >= MAX_DEPTH {
                continue;
            }
            let value = if field.is_map() {
                let Kind::Message(entry) = field.kind() else {
                    continue;
                };
                let (key_field, value_field) = (entry.map_entry_key_field(), entry.map_entry_value_field());
                let mut map = HashMap::new();
                for _ in 0..self.below(3) {
                    if let Some(key) = self.map_key(&key_field.kind()) {
                        let value = self.single(&value_field.kind(), depth);
                        map.insert(key, value);
                    }
                }
                Value::Map(map)
            } else if field.is_list() {
                let n = 1 + self.below(3);
                Value::List((0..n).map(|_| self.single(&field.kind(), depth)).collect())
            } else {
                self.single(&field.kind(), depth)
            };
            message.set_field(&field, value);
        }
        message
    }

    fn word(&mut self) -> String {
        let word = WORDS[self.below(WORDS.len() as u64) as usize];
        format!("{word}-{}", self.below(1000))
    }

    fn map_key(&mut self, kind: &Kind) -> Option<MapKey> {
        Some(match kind {
            Kind::Bool => MapKey::Bool(self.below(2) == 1),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => MapKey::I32(self.below(1000) as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => MapKey::I64(self.below(1000) as i64),
            Kind::Uint32 | Kind::Fixed32 => MapKey::U32(self.below(1000) as u32),
            Kind::Uint64 | Kind::Fixed64 => MapKey::U64(self.below(1000)),
            Kind::String => MapKey::String(self.word()),
            _ => return None,
        })
    }

    fn single(&mut self, kind: &Kind, depth: usize) -> Value {
        // Small non-negative numbers: the values a service is most likely to treat as valid.
        let n = self.below(1000);
        match kind {
            Kind::Double => Value::F64(n as f64 / 10.0),
            Kind::Float => Value::F32(n as f32 / 10.0),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(n as i32),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(n as i64),
            Kind::Uint32 | Kind::Fixed32 => Value::U32(n as u32),
            Kind::Uint64 | Kind::Fixed64 => Value::U64(n),
            Kind::Bool => Value::Bool(n % 2 == 1),
            Kind::String => Value::String(self.word()),
            Kind::Bytes => Value::Bytes(self.word().into_bytes().into()),
            Kind::Enum(e) => {
                let values: Vec<i32> = e.values().map(|v| v.number()).collect();
                Value::EnumNumber(
                    values
                        .get(self.below(values.len() as u64) as usize)
                        .copied()
                        .unwrap_or(0),
                )
            }
            Kind::Message(m) => Value::Message(self.message_at(m, depth + 1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost_reflect::DescriptorPool;

    fn pool() -> DescriptorPool {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("t.proto"),
            "syntax = \"proto3\"; package t;\n\
             message Node { string name = 1; repeated Node children = 2; map<string, int32> tags = 3;\n\
               oneof pick { int64 a = 4; bool b = 5; } optional double score = 6; Kind kind = 7; }\n\
             enum Kind { KIND_UNSPECIFIED = 0; KIND_X = 1; }\n",
        )
        .unwrap();
        let fds = protox::compile(["t.proto"], [dir.path()]).unwrap();
        DescriptorPool::from_file_descriptor_set(fds).unwrap()
    }

    #[test]
    fn the_same_seed_gives_the_same_messages_and_one_oneof_member_is_set() {
        let node = pool().get_message_by_name("t.Node").unwrap();
        let a = MessageGenerator::new(7).message(&node);
        let b = MessageGenerator::new(7).message(&node);
        assert_eq!(a, b);
        assert_ne!(a, MessageGenerator::new(8).message(&node));
        let set = ["a", "b"].iter().filter(|f| a.has_field_by_name(f)).count();
        assert_eq!(set, 1);
        assert!(a.has_field_by_name("name"));
    }
}
