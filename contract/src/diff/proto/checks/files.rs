//! File- and package-level rules: files, packages and the top-level elements they hold.

use super::*;

/// A file option rule: rule id, option name, `FileOptions` field number, the value as text.
type FileOption = (
    &'static str,
    &'static str,
    i32,
    fn(&prost_types::FileOptions) -> String,
);
/// The full names of one kind of element in an index.
type NestedNames = fn(&Index) -> BTreeSet<String>;
/// Package -> nested names.
type ByPackage = BTreeMap<String, BTreeSet<String>>;

pub(super) fn files(out: &mut Out, old: &Index, new: &Index) {
    for (name, old_file) in &old.files {
        let Some(new_file) = new.files.get(name) else {
            let location = Location {
                file: out.old.shown(old_file.name()),
                ..Location::default()
            };
            out.add(
                "FILE_NO_DELETE",
                location,
                format!("Previously present file {name:?} was deleted."),
            );
            continue;
        };
        let (o, n) = (old_file.file_descriptor_proto(), new_file.file_descriptor_proto());
        let same = |out: &mut Out, rule: &'static str, what: &str, path: &[i32], a: String, b: String| {
            if a != b {
                let location = out.new_at(new_file, &[path.to_vec(), vec![]]);
                out.add(
                    rule,
                    location,
                    format!("File {what} changed from {a:?} to {b:?}."),
                );
            }
        };
        same(
            out,
            "FILE_SAME_PACKAGE",
            "package",
            &[FILE_PACKAGE],
            o.package().into(),
            n.package().into(),
        );
        same(
            out,
            "FILE_SAME_SYNTAX",
            "syntax",
            &[FILE_SYNTAX],
            syntax(old_file).into(),
            syntax(new_file).into(),
        );
        let (oo, no) = (
            o.options.clone().unwrap_or_default(),
            n.options.clone().unwrap_or_default(),
        );
        // (rule, option name, FileOptions field number, value)
        let options: [FileOption; 16] = [
            ("FILE_SAME_GO_PACKAGE", "go_package", 11, |x| {
                x.go_package().into()
            }),
            ("FILE_SAME_JAVA_PACKAGE", "java_package", 1, |x| {
                x.java_package().into()
            }),
            ("FILE_SAME_JAVA_OUTER_CLASSNAME", "java_outer_classname", 8, |x| {
                x.java_outer_classname().into()
            }),
            ("FILE_SAME_JAVA_MULTIPLE_FILES", "java_multiple_files", 10, |x| {
                x.java_multiple_files().to_string()
            }),
            (
                "FILE_SAME_JAVA_GENERIC_SERVICES",
                "java_generic_services",
                17,
                |x| x.java_generic_services().to_string(),
            ),
            ("FILE_SAME_PY_GENERIC_SERVICES", "py_generic_services", 18, |x| {
                x.py_generic_services().to_string()
            }),
            ("FILE_SAME_CC_GENERIC_SERVICES", "cc_generic_services", 16, |x| {
                x.cc_generic_services().to_string()
            }),
            ("FILE_SAME_CC_ENABLE_ARENAS", "cc_enable_arenas", 31, |x| {
                x.cc_enable_arenas().to_string()
            }),
            ("FILE_SAME_OBJC_CLASS_PREFIX", "objc_class_prefix", 36, |x| {
                x.objc_class_prefix().into()
            }),
            ("FILE_SAME_CSHARP_NAMESPACE", "csharp_namespace", 37, |x| {
                x.csharp_namespace().into()
            }),
            ("FILE_SAME_SWIFT_PREFIX", "swift_prefix", 39, |x| {
                x.swift_prefix().into()
            }),
            ("FILE_SAME_PHP_CLASS_PREFIX", "php_class_prefix", 40, |x| {
                x.php_class_prefix().into()
            }),
            ("FILE_SAME_PHP_NAMESPACE", "php_namespace", 41, |x| {
                x.php_namespace().into()
            }),
            (
                "FILE_SAME_PHP_METADATA_NAMESPACE",
                "php_metadata_namespace",
                44,
                |x| x.php_metadata_namespace().into(),
            ),
            ("FILE_SAME_RUBY_PACKAGE", "ruby_package", 45, |x| {
                x.ruby_package().into()
            }),
            ("FILE_SAME_OPTIMIZE_FOR", "optimize_for", 9, |x| {
                x.optimize_for().as_str_name().into()
            }),
        ];
        for (rule, option, number, get) in options {
            same(
                out,
                rule,
                &format!("option {option:?}"),
                &[FILE_OPTIONS, number],
                get(&oo),
                get(&no),
            );
        }
        deleted_in_file(out, old_file, new_file);
    }
}

/// MESSAGE/ENUM/SERVICE/EXTENSION_NO_DELETE: nested names that were in the file and are not.
fn deleted_in_file(out: &mut Out, old_file: &FileDescriptor, new_file: &FileDescriptor) {
    let (old_i, new_i) = (single(old_file), single(new_file));
    let package = old_file.package_name().to_string();
    let kinds: [(&'static str, &str, NestedNames); 4] = [
        ("MESSAGE_NO_DELETE", "message", |i| {
            i.messages.keys().cloned().collect()
        }),
        ("ENUM_NO_DELETE", "enum", |i| i.enums.keys().cloned().collect()),
        ("SERVICE_NO_DELETE", "service", |i| {
            i.services.keys().cloned().collect()
        }),
        ("EXTENSION_NO_DELETE", "extension", |i| {
            i.extensions.keys().cloned().collect()
        }),
    ];
    for (rule, what, names) in kinds {
        let nested = |i: &Index, pkg: &str| -> BTreeSet<String> {
            names(i).iter().map(|n| nested_name(n, pkg).to_string()).collect()
        };
        let now = nested(&new_i, new_file.package_name());
        for gone in nested(&old_i, &package).difference(&now) {
            // Like buf: on the nearest enclosing message that still exists, else the file.
            let location = enclosing(out, &new_i, new_file, gone);
            out.add(
                rule,
                location,
                format!("Previously present {what} {gone:?} was deleted from file."),
            );
        }
    }
}

fn single(file: &FileDescriptor) -> Index {
    let mut index = Index {
        files: BTreeMap::new(),
        messages: BTreeMap::new(),
        enums: BTreeMap::new(),
        services: BTreeMap::new(),
        extensions: BTreeMap::new(),
    };
    for m in file.messages() {
        index.add_message(m);
    }
    for e in file.enums() {
        index.enums.insert(e.full_name().to_string(), e);
    }
    for s in file.services() {
        index.services.insert(s.full_name().to_string(), s);
    }
    for x in file.extensions() {
        index.extensions.insert(x.full_name().to_string(), x);
    }
    index
}

fn enclosing(out: &Out, index: &Index, file: &FileDescriptor, nested: &str) -> Location {
    let package = file.package_name();
    let parts: Vec<&str> = nested.split('.').collect();
    for i in (1..parts.len()).rev() {
        let parent = parts[..i].join(".");
        let full = if package.is_empty() {
            parent
        } else {
            format!("{package}.{parent}")
        };
        if let Some(m) = index.messages.get(&full) {
            return out.new_at(file, &[m.path().to_vec()]);
        }
    }
    // The file itself: buf reports its start.
    Location {
        file: out.new.shown(file.name()),
        line: Some(1),
        column: Some(1),
        ..Location::default()
    }
}

pub(super) fn packages(out: &mut Out, old: &Index, new: &Index) {
    let pkgs =
        |i: &Index| -> BTreeSet<String> { i.files.values().map(|f| f.package_name().to_string()).collect() };
    let (old_pkgs, new_pkgs) = (pkgs(old), pkgs(new));
    for gone in old_pkgs.difference(&new_pkgs) {
        let file = old.files.values().find(|f| f.package_name() == gone);
        let location = Location {
            file: file.map(|f| out.old.shown(f.name())).unwrap_or_default(),
            ..Location::default()
        };
        out.add(
            "PACKAGE_NO_DELETE",
            location,
            format!("Previously present package {gone:?} was deleted."),
        );
    }
    let checks: [(&'static str, &str, ByPackage, ByPackage); 4] = [
        (
            "PACKAGE_MESSAGE_NO_DELETE",
            "message",
            old.by_package(&old.messages, |m| m.package_name().to_string()),
            new.by_package(&new.messages, |m| m.package_name().to_string()),
        ),
        (
            "PACKAGE_ENUM_NO_DELETE",
            "enum",
            old.by_package(&old.enums, |e| e.package_name().to_string()),
            new.by_package(&new.enums, |e| e.package_name().to_string()),
        ),
        (
            "PACKAGE_SERVICE_NO_DELETE",
            "service",
            old.by_package(&old.services, |s| s.package_name().to_string()),
            new.by_package(&new.services, |s| s.package_name().to_string()),
        ),
        (
            "PACKAGE_EXTENSION_NO_DELETE",
            "extension",
            old.by_package(&old.extensions, |x| x.parent_file().package_name().to_string()),
            new.by_package(&new.extensions, |x| x.parent_file().package_name().to_string()),
        ),
    ];
    for (rule, what, before, after) in checks {
        for (package, names) in &before {
            // Only packages that still exist: a deleted package is PACKAGE_NO_DELETE.
            if !new_pkgs.contains(package) {
                continue;
            }
            let empty = BTreeSet::new();
            let now = after.get(package).unwrap_or(&empty);
            for gone in names.difference(now) {
                let full = if package.is_empty() {
                    gone.clone()
                } else {
                    format!("{package}.{gone}")
                };
                let file = old
                    .messages
                    .get(&full)
                    .map(|m| m.parent_file())
                    .or_else(|| old.enums.get(&full).map(|e| e.parent_file()))
                    .or_else(|| old.services.get(&full).map(|s| s.parent_file()))
                    .or_else(|| old.extensions.get(&full).map(|x| x.parent_file()));
                let location = match file
                    .as_ref()
                    .and_then(|f| new.files.get(f.name()).map(|nf| (f, nf)))
                {
                    Some((_, new_file)) => enclosing(out, new, new_file, gone),
                    None => Location {
                        file: file.map(|f| out.old.shown(f.name())).unwrap_or_default(),
                        ..Location::default()
                    },
                };
                out.add(
                    rule,
                    location,
                    format!("Previously present {what} {gone:?} was deleted from package {package:?}."),
                );
            }
        }
    }
}
