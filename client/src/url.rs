//! URL handling for requests built from templates: splitting a base URL into the authority to
//! connect to and the path prefix, and percent-encoding query pairs and form fields.

/// Splits `http://host:port/path?q` into (`host:port`, `/path?q`); `None` if not http.
pub fn split_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => rest.split_at(i),
        None => (rest, "/"),
    };
    (!authority.is_empty()).then_some((authority, path))
}

/// Appends `key=value` to a query string, percent-encoding both (RFC 3986 unreserved kept).
pub fn push_query_pair(out: &mut String, key: &str, value: &str) {
    out.push(if out.contains('?') { '&' } else { '?' });
    percent_encode(out, key);
    out.push('=');
    percent_encode(out, value);
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn percent_encode(out: &mut String, text: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(byte >> 4)] as char);
            out.push(HEX[usize::from(byte & 15)] as char);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_urls_and_encodes_queries() {
        assert_eq!(
            split_url("http://127.0.0.1:8082/v1/movies?x=1"),
            Some(("127.0.0.1:8082", "/v1/movies?x=1"))
        );
        assert_eq!(split_url("http://h:1"), Some(("h:1", "/")));
        assert_eq!(split_url("https://h"), None);
        let mut url = "/v1/movies".to_string();
        push_query_pair(&mut url, "title", "a b&c");
        push_query_pair(&mut url, "limit", "10");
        assert_eq!(url, "/v1/movies?title=a%20b%26c&limit=10");
    }
}
