//! Enum-pair rules (enums paired by full name, values by number).

use super::*;

pub(super) fn enum_pair(out: &mut Out, old: &EnumDescriptor, new: &EnumDescriptor) {
    let file = new.parent_file();
    let enum_at = |out: &Out| out.new_at(&file, &[new.path().to_vec()]);
    let by_number = |e: &EnumDescriptor| -> BTreeMap<i32, BTreeSet<String>> {
        let mut map: BTreeMap<i32, BTreeSet<String>> = BTreeMap::new();
        for v in e.values() {
            map.entry(v.number()).or_default().insert(v.name().to_string());
        }
        map
    };
    let (before, after) = (by_number(old), by_number(new));
    let reserved: Vec<_> = new.reserved_ranges().collect();
    let reserved_names: BTreeSet<&str> = new.reserved_names().collect();
    for (number, names) in &before {
        let Some(now) = after.get(number) else {
            let text = format!(
                "Previously present enum value \"{number}\" on enum {:?} was deleted",
                new.name()
            );
            let location = enum_at(out);
            out.add("ENUM_VALUE_NO_DELETE", location.clone(), format!("{text}."));
            if !reserved.iter().any(|r| r.contains(number)) {
                out.add(
                    "ENUM_VALUE_NO_DELETE_UNLESS_NUMBER_RESERVED",
                    location.clone(),
                    format!("{text} without reserving the number \"{number}\"."),
                );
            }
            if !names.iter().all(|n| reserved_names.contains(n.as_str())) {
                let list: Vec<String> = names.iter().map(|n| format!("{n:?}")).collect();
                out.add(
                    "ENUM_VALUE_NO_DELETE_UNLESS_NAME_RESERVED",
                    location,
                    format!("{text} without reserving the name {}.", list.join(", ")),
                );
            }
            continue;
        };
        if !now.is_subset(names) {
            let quote =
                |s: &BTreeSet<String>| s.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ");
            // buf reports once per value now carrying the number.
            for value in new.values().filter(|v| v.number() == *number) {
                let location = out.new_at(
                    &file,
                    &[with(value.path(), &[ENUM_VALUE_NUMBER]), value.path().to_vec()],
                );
                out.add(
                    "ENUM_VALUE_SAME_NAME",
                    location,
                    format!(
                        "Enum value \"{number}\" on enum {:?} changed name from {} to {}.",
                        new.name(),
                        quote(names),
                        quote(now)
                    ),
                );
            }
        }
    }
    let span = |r: std::ops::RangeInclusive<i32>| (i64::from(*r.start()), i64::from(*r.end()));
    let missing = ranges_missing(
        &old.reserved_ranges().map(span).collect::<Vec<_>>(),
        &new.reserved_ranges().map(span).collect::<Vec<_>>(),
    );
    for lost in &missing {
        let location = enum_at(out);
        let message = range_message("reserved", "enum", new.name(), lost, ENUM_MAX);
        out.add("RESERVED_ENUM_NO_DELETE", location, message);
    }
    for gone in old.reserved_names().filter(|n| !reserved_names.contains(n)) {
        let location = enum_at(out);
        out.add(
            "RESERVED_ENUM_NO_DELETE",
            location,
            format!(
                "Previously present reserved name {gone:?} on enum {:?} was deleted.",
                new.name()
            ),
        );
    }
    // proto2 enums are closed, proto3 (and editions by default) open.
    let closed = |e: &EnumDescriptor| syntax(&e.parent_file()) == "proto2";
    if closed(old) != closed(new) {
        let (a, b) = if closed(old) {
            ("closed", "open")
        } else {
            ("open", "closed")
        };
        let location = enum_at(out);
        out.add(
            "ENUM_SAME_TYPE",
            location,
            format!("Enum {:?} changed from {a} to {b}.", new.name()),
        );
    }
    let (oj, nj) = (json_format(&old.parent_file()), json_format(&file));
    if oj == "ALLOW" && nj != "ALLOW" {
        let location = enum_at(out);
        out.add(
            "ENUM_SAME_JSON_FORMAT",
            location,
            format!(
                "Enum {:?} JSON format support changed from {oj} to {nj}.",
                new.name()
            ),
        );
    }
}
